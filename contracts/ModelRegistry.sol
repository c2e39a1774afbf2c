// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The one thing the registry asks of MedLedger: whether a provider is accredited now.
interface IAccreditation {
    /// @notice Whether `provider` is an accredited provider now.
    /// @param provider the address to check
    /// @return accredited true while the governor's accreditation stands
    function isAccredited(address provider) external view returns (bool accredited);
}

/**
 * @title ModelRegistry
 * @notice Provenance of trained models (issue 6): for each published model, or each round of a
 * federated training run, which consent set it was trained on and which providers' data went into
 * it, so anyone holding the model file can check what it was trained on. Deployed beside MedLedger
 * (src/chain/deploy.ts), whose accreditation it reads.
 *
 * Who may record: anyone. A record is a claim by its recorder, so the recorder is part of its key:
 * `modelRecordOf(recorder, modelHash)`. A verifier asks about the publisher they got the model from;
 * nobody can squat or overwrite another recorder's records (with a key of the model hash alone, a
 * front-runner could copy the hash from the mempool and block the real record). Limiting recording
 * to accredited providers would shut out researchers, who read through gatekeepers like any third
 * party and hold no role on chain. The providers named must be accredited now, so the public list can
 * only ever hold providers (never a patient's address) and each named provider can be asked for its
 * audit trail of the reads.
 *
 * consentSetHash is keccak256(abi.encode(address[] patients sorted ascending)) for a model trained on
 * one extraction (src/ml/consent-set.ts), or the per-provider combination a federated run documents
 * (src/ml/federated-research.ts); the contract treats it as an opaque commitment. Storage holds only
 * what a verifier or another contract must look up (two slots per record, one per model for the round
 * order); the providers are in the event only.
 */
contract ModelRegistry {
    /// @notice What was recorded for a model: its consent set, round, and the block it was recorded in.
    struct ModelRecord {
        bytes32 consentSetHash;
        uint32 round;
        uint64 recordedAt;
    }

    /// @notice The MedLedger deployment whose accredited providers a record may name.
    IAccreditation public immutable ledger;

    /// @dev keccak(recorder, modelHash) → record.
    mapping(bytes32 recordKey => ModelRecord) internal _modelRecords;
    /// @dev keccak(recorder, modelId) → the last round recorded (rounds only go up).
    mapping(bytes32 modelKey => uint32 round) internal _modelRounds;

    /// @notice `recorder` recorded round `round` of model `modelId`: the model with hash `modelHash`
    /// was trained on consent set `consentSetHash` from the data of `providers` (ascending).
    event ModelRoundRecorded(
        bytes32 indexed modelId,
        bytes32 indexed modelHash,
        address indexed recorder,
        uint32 round,
        bytes32 consentSetHash,
        address[] providers
    );

    /// @notice A model id, model hash or consent-set hash is zero, or the round is 0.
    error InvalidModelRecord();
    /// @notice Rounds of a model only go up; the recorder's last round of it is `lastRound`.
    error RoundNotAfter(uint32 lastRound);
    /// @notice The caller already recorded a model with hash `modelHash`.
    error ModelAlreadyRecorded(bytes32 modelHash);
    /// @notice Providers must be given, without duplicates, in ascending address order.
    error ProvidersNotSorted();
    /// @notice `account` is not an accredited provider (MedLedger).
    error NotAccredited(address account);

    /// @param ledger_ the MedLedger deployment that accredits providers
    constructor(IAccreditation ledger_) {
        ledger = ledger_;
    }

    /**
     * @notice Record that the model with hash `modelHash`, round `round` of the caller's model
     * `modelId`, was trained on consent set `consentSetHash` from the data of `providers`.
     * @param modelId the caller's name for the model (e.g. keccak256 of a study name); its rounds go up
     * @param round 1, 2, … (a model trained in one go is round 1); greater than the last one recorded
     * @param modelHash keccak256 of the model's canonical JSON (src/ml/logistic.ts hashModel)
     * @param consentSetHash commitment to the patients whose data the model was trained on
     * @param providers the accredited providers whose data was used, in ascending address order
     */
    function recordModelRound(
        bytes32 modelId,
        uint32 round,
        bytes32 modelHash,
        bytes32 consentSetHash,
        address[] calldata providers
    ) external {
        if (modelId == bytes32(0) || modelHash == bytes32(0) || consentSetHash == bytes32(0) || round == 0) {
            revert InvalidModelRecord();
        }
        if (providers.length == 0) revert ProvidersNotSorted();
        address previous = address(0);
        for (uint256 i = 0; i < providers.length; i++) {
            address p = providers[i];
            if (p <= previous) revert ProvidersNotSorted();
            if (!ledger.isAccredited(p)) revert NotAccredited(p);
            previous = p;
        }
        bytes32 modelKey = keccak256(abi.encode(msg.sender, modelId));
        uint32 lastRound = _modelRounds[modelKey];
        if (round <= lastRound) revert RoundNotAfter(lastRound);
        ModelRecord storage record = _modelRecords[keccak256(abi.encode(msg.sender, modelHash))];
        if (record.consentSetHash != bytes32(0)) revert ModelAlreadyRecorded(modelHash);
        _modelRounds[modelKey] = round;
        record.consentSetHash = consentSetHash;
        record.round = round;
        record.recordedAt = uint64(block.number);
        emit ModelRoundRecorded(modelId, modelHash, msg.sender, round, consentSetHash, providers);
    }

    /**
     * @notice What `recorder` recorded for the model with hash `modelHash` (all zero if nothing).
     * @param recorder the address that recorded the model
     * @param modelHash keccak256 of the model's canonical JSON
     * @return record consent set, round and block of the recording
     */
    function modelRecordOf(address recorder, bytes32 modelHash) external view returns (ModelRecord memory record) {
        return _modelRecords[keccak256(abi.encode(recorder, modelHash))];
    }

    /**
     * @notice The last round of model `modelId` that `recorder` recorded (0 = none).
     * @param recorder the address that recorded the model's rounds
     * @param modelId the recorder's model id
     * @return round the last round recorded
     */
    function lastModelRound(address recorder, bytes32 modelId) external view returns (uint32 round) {
        return _modelRounds[keccak256(abi.encode(recorder, modelId))];
    }
}
