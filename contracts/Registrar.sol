// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title Registrar
 * @notice Maps a participant's identity (as a peppered hash, never in clear) to an Ethereum address,
 * and that address to its account, which anchors the participant's Summary.
 *
 * Providers are permissioned: only the governor (an address or multisig set at deploy) accredits them.
 * Patients register themselves, but only with an accredited provider's EIP-712 attestation binding
 * their identity hash to their address, so nobody can squat another person's identity.
 */
abstract contract Registrar is Ownable2Step, EIP712 {
    /// @notice What an address is in the system.
    enum Role {
        None,
        Patient,
        Provider,
        /// A key that holds a patient's identity after guardian recovery (PatientControl).
        Controller
    }

    /// @dev One storage slot per participant (role 1 byte, accredited 1 byte, count 4 bytes, time 5 bytes,
    /// keyMoved 1 byte). keyMoved: a patient whose key a guardian recovery moved; the patient address no
    /// longer signs for itself (PatientControl).
    struct Account {
        Role role;
        bool accredited;
        uint32 relationshipCount;
        uint40 registeredAt;
        bool keyMoved;
    }

    /// @dev EIP-712 type a provider signs to vouch that `identityHash` belongs to `patient`.
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("PatientAttestation(bytes32 identityHash,address patient)");

    /// @notice Identity hash → the address registered under it.
    mapping(bytes32 identityHash => address account) public addressOf;

    mapping(address account => Account) internal _accounts;

    /// @notice A patient registered `identityHash` at `patient`, vouched for by `attester`.
    event PatientRegistered(address indexed patient, bytes32 indexed identityHash, address indexed attester);
    /// @notice The governor accredited `provider`; `identityHash` is 0 on re-accreditation.
    event ProviderAccredited(address indexed provider, bytes32 indexed identityHash);
    /// @notice The governor withdrew `provider`'s accreditation; it can no longer act as a provider.
    event AccreditationRevoked(address indexed provider);

    /// @notice The identity hash is zero.
    error ZeroIdentity();
    /// @notice `account` is already registered (as patient or provider).
    error AlreadyRegistered(address account);
    /// @notice `identityHash` is already bound to another address.
    error IdentityTaken(bytes32 identityHash);
    /// @notice `account` is not an accredited provider.
    error NotAccredited(address account);
    /// @notice The attestation was not signed by the named attester for this identity and address.
    error InvalidAttestation();
    /// @notice `account` is not a registered patient.
    error NotRegisteredPatient(address account);

    constructor(address governor) Ownable(governor) EIP712("MedLedger", "1") {}

    /// @dev Reverts unless `account` is an accredited provider.
    modifier onlyAccredited(address account) {
        if (!_accounts[account].accredited) revert NotAccredited(account);
        _;
    }

    /**
     * @notice Accredit `provider` under `identityHash` (e.g. hash of an organisation identifier), or
     * re-accredit a provider whose accreditation was revoked. Governor only.
     * @param provider the provider's signing address
     * @param identityHash the peppered hash of the provider's identity; ignored on re-accreditation
     */
    function accreditProvider(address provider, bytes32 identityHash) external onlyOwner {
        Account storage account = _accounts[provider];
        if (account.role == Role.Patient || account.role == Role.Controller) revert AlreadyRegistered(provider);
        if (account.role == Role.None) {
            _bindIdentity(provider, identityHash);
            account.role = Role.Provider;
            account.registeredAt = uint40(block.timestamp);
        } else {
            // Re-accreditation keeps the identity bound at first accreditation; the event says so with 0.
            identityHash = bytes32(0);
        }
        account.accredited = true;
        emit ProviderAccredited(provider, identityHash);
    }

    /**
     * @notice Withdraw `provider`'s accreditation. Its relationships stay (the patient's Summary is
     * history) but it can no longer add or update pointers or attest patients. Governor only.
     * @param provider an accredited provider
     */
    function revokeAccreditation(address provider) external onlyOwner {
        Account storage account = _accounts[provider];
        if (!account.accredited) revert NotAccredited(provider);
        account.accredited = false;
        emit AccreditationRevoked(provider);
    }

    /**
     * @notice Register the caller as a patient under `identityHash`.
     * @param identityHash peppered hash of the patient's identity (see README: identity hashing)
     * @param attester an accredited provider that verified the patient's identity
     * @param attestation the attester's EIP-712 signature over PatientAttestation(identityHash, caller)
     */
    function registerPatient(bytes32 identityHash, address attester, bytes calldata attestation)
        external
        onlyAccredited(attester)
    {
        Account storage account = _accounts[msg.sender];
        if (account.role != Role.None) revert AlreadyRegistered(msg.sender);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(ATTESTATION_TYPEHASH, identityHash, msg.sender)));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, attestation);
        if (err != ECDSA.RecoverError.NoError || signer != attester) revert InvalidAttestation();
        _bindIdentity(msg.sender, identityHash);
        account.role = Role.Patient;
        account.registeredAt = uint40(block.timestamp);
        emit PatientRegistered(msg.sender, identityHash, attester);
    }

    /**
     * @notice The account record of `account` (role, accreditation, relationship count, registration time).
     * @param account any address
     * @return record role, accredited, relationship count, registration time, key moved
     */
    function accountOf(address account) external view returns (Account memory record) {
        return _accounts[account];
    }

    /**
     * @notice Whether `provider` is an accredited provider now (ModelRegistry asks this).
     * @param provider any address
     * @return accredited true while the governor's accreditation stands
     */
    function isAccredited(address provider) external view returns (bool accredited) {
        return _accounts[provider].accredited;
    }

    function _bindIdentity(address account, bytes32 identityHash) private {
        if (identityHash == bytes32(0)) revert ZeroIdentity();
        if (addressOf[identityHash] != address(0)) revert IdentityTaken(identityHash);
        addressOf[identityHash] = account;
    }
}
