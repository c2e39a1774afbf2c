// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title StudyRegistry
 * @notice Consented research studies (issue 16): a sponsor registers the hash of a study definition
 * (src/protocol/research/study.ts), patients enrol in it and withdraw, the sponsor opens training
 * rounds against the study's privacy budget and records the final model. Every provider's gatekeeper
 * reads this contract before it computes anything for a study: the definition it was sent must hash to
 * `studyHash`, the study must not have expired, the round must be open here, and only patients that
 * `isEnrolled` now are read. Deployed beside MedLedger and ModelRegistry (src/chain/deploy.ts).
 *
 * A study's id is keccak256(abi.encode(sponsor, studyHash)): the sponsor is part of the key, so nobody
 * can front-run a registration and take over someone else's study (as in ModelRegistry).
 *
 * Consent is the patient's own act: `enroll`/`withdraw` from the patient's address, or an EIP-712
 * Enrollment or Withdrawal signature (https://eips.ethereum.org/EIPS/eip-712) that anyone may relay (a
 * sponsor or a demo seed paying the gas for many enrolments; anyone for a patient without ether leaving). Each (study, patient) pair keeps one counter that every enrolment
 * and withdrawal increments, so it is odd while enrolled; a signature names the counter's value it was
 * made for, so it enrols once and can never be replayed after a withdrawal. Withdrawal is always
 * possible; enrolment only before the expiry. The contract does not check that an enrolling address is
 * a registered patient: a gatekeeper only ever looks up its own patients' linked addresses.
 *
 * Privacy budget: ε is counted in micro-ε (1e-6). Each round the sponsor opens states the study's
 * total spend after it (`epsilonSpent`, from the sponsor's privacy accountant), which only goes up and
 * can never pass `epsilonBudget`; sites add noise for the study's stated (ε, δ) and rounds.
 *
 * Storage: three slots per study (sponsor | expiry | rounds | sites, the hash, the ε counters | result
 * round) and two for the last result; one slot per (study, patient).
 */
contract StudyRegistry is EIP712 {
    /// @notice A study as stored: three slots, then the last result's two hashes.
    struct Study {
        address sponsor;
        uint40 expiresAt;
        uint32 rounds;
        uint16 minSites;
        bytes32 studyHash;
        uint64 epsilonBudget;
        uint64 epsilonSpent;
        uint32 resultRound;
        uint64 resultRecordedAt;
        bytes32 modelHash;
        bytes32 consentSetHash;
    }

    /// @notice A patient's signed enrolment, relayed by anyone (enrollWithSignatures).
    struct Enrollment {
        address patient;
        uint32 nonce;
        uint40 deadline;
        bytes signature;
    }

    /// @notice EIP-712 type a patient signs to enrol in `studyId`; `nonce` is enrollmentNonce(studyId, patient)
    /// when signing, `deadline` a Unix time after which it is void (0 = none).
    bytes32 public constant ENROLLMENT_TYPEHASH =
        keccak256("Enrollment(bytes32 studyId,address patient,uint32 nonce,uint40 deadline)");
    /// @notice EIP-712 type a patient signs to withdraw from `studyId`; `nonce` is enrollmentNonce(studyId, patient)
    /// while enrolled, so it ends that one enrolment and no later one.
    bytes32 public constant WITHDRAWAL_TYPEHASH = keccak256("Withdrawal(bytes32 studyId,address patient,uint32 nonce)");

    /// @dev studyId → study.
    mapping(bytes32 studyId => Study) internal _studies;
    /// @dev studyId → patient → how many times the patient enrolled or withdrew (odd = enrolled).
    mapping(bytes32 studyId => mapping(address patient => uint32 changes)) internal _enrollments;

    /// @notice `sponsor` registered study `studyId`, the definition with hash `studyHash`.
    event StudyRegistered(
        bytes32 indexed studyId,
        address indexed sponsor,
        bytes32 studyHash,
        uint40 expiresAt,
        uint64 epsilonBudget,
        uint16 minSites
    );
    /// @notice `patient` enrolled in study `studyId`.
    event StudyEnrolled(bytes32 indexed studyId, address indexed patient);
    /// @notice `patient` withdrew from study `studyId`.
    event StudyWithdrawn(bytes32 indexed studyId, address indexed patient);
    /// @notice The sponsor opened round `round` of study `studyId`, spending `epsilon` more (micro-ε), `epsilonSpent` in all.
    event StudyRoundOpened(bytes32 indexed studyId, uint32 round, uint64 epsilon, uint64 epsilonSpent);
    /// @notice The sponsor recorded the model `modelHash`, trained on `consentSetHash` through round `round`.
    event StudyResultRecorded(bytes32 indexed studyId, bytes32 indexed modelHash, bytes32 consentSetHash, uint32 round, uint64 epsilonSpent);

    /// @notice The study hash is zero, the budget is zero, fewer than 3 sites, or the expiry is not in the future.
    error InvalidStudy();
    /// @notice The caller already registered a study with this hash (same id `studyId`).
    error StudyExists(bytes32 studyId);
    /// @notice No study is registered under `studyId`.
    error UnknownStudy(bytes32 studyId);
    /// @notice Study `studyId` expired: no more enrolments or rounds.
    error StudyExpired(bytes32 studyId);
    /// @notice Only the study's sponsor may open rounds and record results.
    error NotSponsor(address caller);
    /// @notice `patient` is already enrolled in the study.
    error AlreadyEnrolled(address patient);
    /// @notice `patient` is not enrolled in the study.
    error NotEnrolled(address patient);
    /// @notice Enrollment `index` of the batch is not its patient's signature over this study and current nonce.
    error InvalidEnrollmentSignature(uint256 index);
    /// @notice Enrollment `index` of the batch was signed for another nonce (used, or withdrawn since).
    error StaleEnrollment(uint256 index);
    /// @notice Enrollment `index` of the batch is past its deadline.
    error EnrollmentDeadlinePassed(uint256 index);
    /// @notice The withdrawal is not `patient`'s signature over this study and their current nonce.
    error InvalidWithdrawalSignature(address patient);
    /// @notice Rounds go up by one: the next round is `expected`.
    error WrongRound(uint32 expected);
    /// @notice A round must spend some ε: the new total must exceed the `spent` micro-ε so far.
    error SpendNotIncreasing(uint64 spent);
    /// @notice The new total would pass the budget; `remaining` micro-ε are left.
    error BudgetExhausted(uint64 remaining);
    /// @notice A result needs a hash for the model and the consent set, and a round opened since the last result.
    error InvalidResult();

    constructor() EIP712("MedLedger Studies", "1") {}

    /**
     * @notice Register the study whose definition hashes to `studyHash`, with the caller as sponsor.
     * @param studyHash keccak256 of the definition's canonical JSON (src/protocol/research/study.ts)
     * @param expiresAt Unix time after which nobody can enrol and no round opens (the definition's expiry)
     * @param epsilonBudget the study's total ε in micro-ε (1e-6)
     * @param minSites the fewest sites a round may have (at least 3)
     * @return studyId keccak256(abi.encode(msg.sender, studyHash))
     */
    function registerStudy(bytes32 studyHash, uint40 expiresAt, uint64 epsilonBudget, uint16 minSites)
        external
        returns (bytes32 studyId)
    {
        if (studyHash == bytes32(0) || epsilonBudget == 0 || minSites < 3 || expiresAt <= block.timestamp) {
            revert InvalidStudy();
        }
        studyId = keccak256(abi.encode(msg.sender, studyHash));
        Study storage study = _studies[studyId];
        if (study.sponsor != address(0)) revert StudyExists(studyId);
        study.sponsor = msg.sender;
        study.expiresAt = expiresAt;
        study.minSites = minSites;
        study.studyHash = studyHash;
        study.epsilonBudget = epsilonBudget;
        emit StudyRegistered(studyId, msg.sender, studyHash, expiresAt, epsilonBudget, minSites);
    }

    /**
     * @notice Enrol the caller in study `studyId` (before its expiry).
     * @param studyId the study
     */
    function enroll(bytes32 studyId) external {
        _requireOpen(studyId);
        uint32 changes = _enrollments[studyId][msg.sender];
        if (changes & 1 == 1) revert AlreadyEnrolled(msg.sender);
        _enrollments[studyId][msg.sender] = changes + 1;
        emit StudyEnrolled(studyId, msg.sender);
    }

    /**
     * @notice Enrol each signer of `enrollments` in study `studyId` (before its expiry); anyone may send
     * it. The whole batch reverts if any one is invalid.
     * @param studyId the study
     * @param enrollments patients' EIP-712 Enrollment signatures over this study and their current nonce
     */
    function enrollWithSignatures(bytes32 studyId, Enrollment[] calldata enrollments) external {
        _requireOpen(studyId);
        for (uint256 i = 0; i < enrollments.length; i++) {
            Enrollment calldata e = enrollments[i];
            if (e.deadline != 0 && block.timestamp > e.deadline) revert EnrollmentDeadlinePassed(i);
            uint32 changes = _enrollments[studyId][e.patient];
            if (changes & 1 == 1) revert AlreadyEnrolled(e.patient);
            if (e.nonce != changes) revert StaleEnrollment(i);
            bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(ENROLLMENT_TYPEHASH, studyId, e.patient, e.nonce, e.deadline)));
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, e.signature);
            if (err != ECDSA.RecoverError.NoError || signer != e.patient) revert InvalidEnrollmentSignature(i);
            _enrollments[studyId][e.patient] = changes + 1;
            emit StudyEnrolled(studyId, e.patient);
        }
    }

    /**
     * @notice Withdraw the caller from study `studyId`; possible at any time, expiry included. Sites
     * leave the caller out of every round that starts after this block.
     * @param studyId the study
     */
    function withdraw(bytes32 studyId) external {
        uint32 changes = _enrollments[studyId][msg.sender];
        if (changes & 1 == 0) revert NotEnrolled(msg.sender);
        _enrollments[studyId][msg.sender] = changes + 1;
        emit StudyWithdrawn(studyId, msg.sender);
    }

    /**
     * @notice Withdraw `patient` from study `studyId` with their EIP-712 Withdrawal signature; anyone may
     * send it, so a patient whose enrolment someone else paid for can leave without holding ether.
     * @param studyId the study
     * @param patient the enrolled patient
     * @param signature the patient's signature over Withdrawal(studyId, patient, enrollmentNonce(studyId, patient))
     */
    function withdrawWithSignature(bytes32 studyId, address patient, bytes calldata signature) external {
        uint32 changes = _enrollments[studyId][patient];
        if (changes & 1 == 0) revert NotEnrolled(patient);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(WITHDRAWAL_TYPEHASH, studyId, patient, changes)));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != patient) revert InvalidWithdrawalSignature(patient);
        _enrollments[studyId][patient] = changes + 1;
        emit StudyWithdrawn(studyId, patient);
    }

    /**
     * @notice Open round `round` of study `studyId`, raising the study's privacy spend to `epsilonSpent`.
     * Sponsor only, before the expiry; sites refuse a round that is not open here. The total, not the
     * increment, is given: an accountant that composes rounds other than linearly (zCDP) states its
     * total after each round, and rounding to micro-ε never accumulates.
     * @param studyId the study
     * @param round the last round opened plus one (the first is 1)
     * @param epsilonSpent the study's total ε after this round, in micro-ε: above the spend so far, at most the budget
     */
    function openRound(bytes32 studyId, uint32 round, uint64 epsilonSpent) external {
        Study storage study = _studies[studyId];
        _requireSponsor(study, studyId);
        if (block.timestamp > study.expiresAt) revert StudyExpired(studyId);
        if (round != study.rounds + 1) revert WrongRound(study.rounds + 1);
        uint64 spent = study.epsilonSpent;
        if (epsilonSpent <= spent) revert SpendNotIncreasing(spent);
        if (epsilonSpent > study.epsilonBudget) revert BudgetExhausted(study.epsilonBudget - spent);
        study.rounds = round;
        study.epsilonSpent = epsilonSpent;
        emit StudyRoundOpened(studyId, round, epsilonSpent - spent, epsilonSpent);
    }

    /**
     * @notice Record the model trained by the rounds opened so far: its hash and the consent set it was
     * trained on. Sponsor only; at least one round must have been opened since the last result.
     * @param studyId the study
     * @param modelHash keccak256 of the model's canonical JSON
     * @param consentSetHash commitment to the patients whose data the model was trained on
     */
    function recordResult(bytes32 studyId, bytes32 modelHash, bytes32 consentSetHash) external {
        Study storage study = _studies[studyId];
        _requireSponsor(study, studyId);
        uint32 rounds = study.rounds;
        if (modelHash == bytes32(0) || consentSetHash == bytes32(0) || rounds <= study.resultRound) revert InvalidResult();
        study.resultRound = rounds;
        study.resultRecordedAt = uint64(block.number);
        study.modelHash = modelHash;
        study.consentSetHash = consentSetHash;
        emit StudyResultRecorded(studyId, modelHash, consentSetHash, rounds, study.epsilonSpent);
    }

    /**
     * @notice Study `studyId` as stored (all zero if none).
     * @param studyId the study
     * @return study sponsor, expiry, rounds opened, minimum sites, hash, ε budget and spend, last result
     */
    function studyOf(bytes32 studyId) external view returns (Study memory study) {
        return _studies[studyId];
    }

    /**
     * @notice Whether `patient` is enrolled in study `studyId` now.
     * @param studyId the study
     * @param patient the patient's address
     * @return enrolled true between an enrolment and the next withdrawal
     */
    function isEnrolled(bytes32 studyId, address patient) external view returns (bool enrolled) {
        return _enrollments[studyId][patient] & 1 == 1;
    }

    /**
     * @notice The nonce `patient`'s next Enrollment signature for `studyId` must carry.
     * @param studyId the study
     * @param patient the patient's address
     * @return nonce the number of enrolments and withdrawals so far
     */
    function enrollmentNonce(bytes32 studyId, address patient) external view returns (uint32 nonce) {
        return _enrollments[studyId][patient];
    }

    /// @dev Reverts unless study `studyId` exists and has not expired.
    function _requireOpen(bytes32 studyId) internal view {
        uint40 expiresAt = _studies[studyId].expiresAt;
        if (expiresAt == 0) revert UnknownStudy(studyId);
        if (block.timestamp > expiresAt) revert StudyExpired(studyId);
    }

    /// @dev Reverts unless `study` exists and the caller is its sponsor.
    function _requireSponsor(Study storage study, bytes32 studyId) internal view {
        address sponsor = study.sponsor;
        if (sponsor == address(0)) revert UnknownStudy(studyId);
        if (sponsor != msg.sender) revert NotSponsor(msg.sender);
    }
}
