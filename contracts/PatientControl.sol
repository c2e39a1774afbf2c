// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Registrar} from "./Registrar.sol";

/**
 * @title PatientControl
 * @notice Who acts for a patient, and the emergency exception: the patient's controller key, the
 * delegates the patient names, the guardians who can move the patient's identity to a new key, and
 * break-glass access for accredited providers in an emergency.
 *
 * Identity vs. key. A patient's registered address is their identity for good: relationship ids
 * (the patient in their upper 160 bits), grants and audit trails all name it, so none of them has to move when the
 * key does. What signs for the patient is the *controller*, by default that same address. Guardian
 * recovery replaces the controller; everything the patient may do is then done by the new key, and
 * the old one (lost, or stolen) can do nothing.
 *
 * Recovery. The patient names n guardians and a threshold m with 2m > n (a majority, so two camps of
 * guardians can never both reach it) and a waiting period. Each guardian approves one candidate key;
 * a candidate that reaches m approvals is scheduled, and after the waiting period anyone may
 * finalise it. A guardian may switch their approval (only their own: no guardian can erase another's),
 * and the current controller can cancel at any time before finalisation, which voids every approval.
 * A single malicious guardian can therefore neither move the identity nor undo the others' approvals.
 *
 * Break-glass. An accredited provider may open a time-boxed emergency read of a patient (default and
 * maximum 24 h) without prior consent, stating a reason; only a salted hash of the reason is on chain
 * (the text goes to the gatekeeper's audit log, which checks it against this hash). Every opening is an
 * event the patient's client shows at once. Patients may turn break-glass off in advance.
 */
abstract contract PatientControl is Registrar {
    /// @notice Delegate permission: accept or reject relationships.
    uint8 internal constant DELEGATE_RESPOND = 1;
    /// @notice Delegate permission: grant and revoke third parties (never beyond the delegation's expiry).
    uint8 internal constant DELEGATE_GRANT = 2;
    /// @notice Delegate permission: read the patient's records through gatekeepers (sensitive labels excluded).
    uint8 internal constant DELEGATE_READ = 4;
    uint8 private constant DELEGATE_ALL = 7;

    /// @notice Waiting period of a recovery when the patient set none.
    uint32 internal constant DEFAULT_RECOVERY_DELAY = 2 days;
    uint32 internal constant MIN_RECOVERY_DELAY = 1 days;
    uint32 internal constant MAX_RECOVERY_DELAY = 30 days;
    uint256 internal constant MAX_GUARDIANS = 16;
    /// @notice Length (and longest allowed) of a break-glass opening.
    uint40 internal constant BREAK_GLASS_DURATION = 24 hours;

    /// @dev One slot per patient (20 + 4 + 1 + 1 + 2 + 4 bytes).
    struct Control {
        address controller; // 0 = the patient address itself
        uint32 recoveryDelay; // 0 = DEFAULT_RECOVERY_DELAY
        uint8 threshold; // guardian approvals needed; 0 = no guardians
        bool breakGlassDisabled;
        uint16 guardianSet; // bumped by setGuardians: old guardians stop counting
        uint32 round; // bumped by setGuardians, cancel and finalise: old approvals stop counting
    }

    struct Delegation {
        uint8 permissions;
        uint64 expiresAt; // 0 = no expiry
    }

    /// @dev The candidate that reached the threshold in `round`, and when it may be finalised.
    struct Recovery {
        address candidate;
        uint40 readyAt;
        uint32 round;
    }

    struct BreakGlass {
        uint40 openedAt;
        uint40 expiresAt;
    }

    mapping(address patient => Control) internal _control;
    /// @notice The patient whose identity `controller` holds after a recovery (0 = none).
    mapping(address controller => address patient) public patientOfController;
    mapping(address patient => mapping(address delegate => Delegation)) internal _delegations;
    /// @dev keccak(patient, guardianSet, guardian) → is a guardian.
    mapping(bytes32 guardianKey => bool) internal _guardians;
    /// @dev keccak(patient, round, guardian) → the candidate that guardian approves.
    mapping(bytes32 voteKey => address candidate) internal _votes;
    /// @dev keccak(patient, round, candidate) → approvals.
    mapping(bytes32 tallyKey => uint8 approvals) internal _approvals;
    mapping(address patient => Recovery) internal _recoveries;
    mapping(address patient => mapping(address provider => BreakGlass)) internal _breakGlass;

    /// @notice `patient`'s identity is now held by `controller` (it was held by `previous`).
    event ControllerChanged(address indexed patient, address indexed previous, address indexed controller);
    /// @notice The patient let `delegate` act with `permissions` until `expiresAt` (0 permissions = removed).
    event DelegateSet(address indexed patient, address indexed delegate, uint8 permissions, uint64 expiresAt);
    /// @notice The patient's guardians are now `guardians`, `threshold` of whom can recover after `recoveryDelay` s.
    event GuardiansSet(address indexed patient, address[] guardians, uint8 threshold, uint32 recoveryDelay);
    /// @notice `guardian` approves moving `patient` to `candidate`, which now has `approvals`.
    event RecoveryApproved(address indexed patient, address indexed guardian, address indexed candidate, uint8 approvals);
    /// @notice `candidate` reached the threshold: `finalizeRecovery` moves `patient` to it from `readyAt` on.
    event RecoveryScheduled(address indexed patient, address indexed candidate, uint40 readyAt);
    /// @notice `by` cancelled the recovery of `patient` (`candidate`: the scheduled key, or 0).
    event RecoveryCancelled(address indexed patient, address indexed by, address candidate);
    /// @notice Accredited `provider` opened an emergency read of `patient` until `expiresAt`, stating the
    /// reason whose salted hash is `reasonHash`.
    event BreakGlassOpened(address indexed patient, address indexed provider, bytes32 indexed reasonHash, uint40 expiresAt);
    /// @notice `by` (the provider or the patient) closed `provider`'s emergency read of `patient` early.
    event BreakGlassClosed(address indexed patient, address indexed provider, address by);
    /// @notice The patient allowed (or forbade) break-glass openings.
    event BreakGlassAllowed(address indexed patient, bool allowed);

    /// @notice `account` does not hold `patient`'s key.
    error NotController(address patient, address account);
    /// @notice `delegate` cannot be a delegate (zero, the patient, or their controller).
    error InvalidDelegate(address delegate);
    /// @notice `permissions` holds no known permission bit, or an unknown one.
    error InvalidPermissions(uint8 permissions);
    /// @notice An expiry `expiresAt` is not in the future.
    error ExpiryInPast(uint64 expiresAt);
    /// @notice A delegate's grant would outlive the delegation (`limit`).
    error BeyondDelegation(uint64 expiresAt, uint64 limit);
    /// @notice `guardian` cannot be a guardian (zero, the patient, their controller, or named twice).
    error InvalidGuardian(address guardian);
    /// @notice The threshold is not a majority of the guardians (or there are too many guardians).
    error InvalidThreshold(uint8 threshold, uint256 guardians);
    /// @notice The waiting period is outside MIN_RECOVERY_DELAY … MAX_RECOVERY_DELAY.
    error InvalidRecoveryDelay(uint32 recoveryDelay);
    /// @notice `account` is not one of `patient`'s guardians.
    error NotGuardian(address patient, address account);
    /// @notice `candidate` cannot hold a patient's key (zero, or already registered or in use).
    error InvalidController(address candidate);
    /// @notice The caller already approves `candidate` in this round.
    error AlreadyApproved(address candidate);
    /// @notice No candidate reached the threshold in the current round.
    error NoRecoveryScheduled(address patient);
    /// @notice The waiting period runs until `readyAt`.
    error RecoveryNotReady(uint40 readyAt);
    /// @notice `patient` turned break-glass off.
    error BreakGlassDisabled(address patient);
    /// @notice A break-glass opening must be 1 s … BREAK_GLASS_DURATION long.
    error InvalidBreakGlassDuration(uint40 duration);
    /// @notice A break-glass opening must state a reason (its hash is zero).
    error ZeroReason();
    /// @notice `provider` has no break-glass opening of `patient`.
    error NoBreakGlass(address patient, address provider);
    /// @notice The break-glass opening expired at `expiresAt`.
    error BreakGlassExpired(uint40 expiresAt);

    // ------------------------------------------------------------------ delegates

    /**
     * @notice Let `delegate` act for `patient` with `permissions` (DELEGATE_RESPOND | DELEGATE_GRANT |
     * DELEGATE_READ) until `expiresAt`; permissions 0 removes the delegate. The patient's controller only:
     * a delegate cannot name delegates, guardians or a new key.
     * @param patient the patient the caller holds the key of
     * @param delegate who may act for the patient (not the patient or its controller)
     * @param permissions DELEGATE_* bits; 0 removes the delegate
     * @param expiresAt unix time the delegation ends; 0 = until removed
     */
    function setDelegate(address patient, address delegate, uint8 permissions, uint64 expiresAt) external {
        Control storage c = _onlyController(patient);
        if (delegate == address(0) || delegate == patient || delegate == c.controller) revert InvalidDelegate(delegate);
        if (permissions & ~DELEGATE_ALL != 0) revert InvalidPermissions(permissions);
        if (permissions == 0) {
            delete _delegations[patient][delegate];
            expiresAt = 0;
        } else {
            if (expiresAt != 0 && expiresAt <= block.timestamp) revert ExpiryInPast(expiresAt);
            _delegations[patient][delegate] = Delegation(permissions, expiresAt);
        }
        emit DelegateSet(patient, delegate, permissions, expiresAt);
    }

    /**
     * @notice The delegation of `delegate` by `patient`, expired or not (permissions 0 = none).
     * @param patient the patient
     * @param delegate the delegate
     * @return delegation permission bits and expiry
     */
    function delegationOf(address patient, address delegate) external view returns (Delegation memory delegation) {
        return _delegations[patient][delegate];
    }

    /**
     * @notice Whether `account` may now act for `patient` with `permission` (one DELEGATE_* bit): the
     * controller may do everything, a delegate what its live delegation says. Used by gatekeepers.
     * @param patient the patient
     * @param account the address that wants to act
     * @param permission one DELEGATE_* bit
     * @return ok whether `account` may act with `permission` now
     */
    function actsFor(address patient, address account, uint8 permission) external view returns (bool ok) {
        (ok,) = _authority(patient, account, permission);
    }

    // ------------------------------------------------------------------ guardians and recovery

    /**
     * @notice Name `patient`'s guardians: `threshold` of them (a majority, 2·threshold > n) can move the
     * patient's identity to a new key after `recoveryDelay` seconds. Replaces the previous guardians
     * and voids every pending approval. An empty list (threshold 0) removes them. Controller only.
     * @param patient the patient the caller holds the key of
     * @param guardians the guardians, each once (not the patient or its controller)
     * @param threshold approvals needed, a majority of `guardians`
     * @param recoveryDelay waiting period in seconds; 0 = DEFAULT_RECOVERY_DELAY
     */
    function setGuardians(address patient, address[] calldata guardians, uint8 threshold, uint32 recoveryDelay)
        external
    {
        Control storage c = _onlyController(patient);
        uint256 n = guardians.length;
        // A majority (2m > n) of at most MAX_GUARDIANS; none at all (0 of 0) removes them.
        if (n > MAX_GUARDIANS || threshold > n || (n != 0 && uint256(threshold) * 2 <= n)) revert InvalidThreshold(threshold, n);
        if (recoveryDelay != 0 && (recoveryDelay < MIN_RECOVERY_DELAY || recoveryDelay > MAX_RECOVERY_DELAY)) {
            revert InvalidRecoveryDelay(recoveryDelay);
        }
        uint16 set = c.guardianSet + 1;
        address controller = c.controller;
        for (uint256 i = 0; i < n; i++) {
            address g = guardians[i];
            bytes32 key = _guardianKey(patient, set, g);
            if (g == address(0) || g == patient || g == controller || _guardians[key]) revert InvalidGuardian(g);
            _guardians[key] = true;
        }
        c.guardianSet = set;
        c.threshold = threshold;
        c.recoveryDelay = recoveryDelay;
        c.round += 1;
        emit GuardiansSet(patient, guardians, threshold, recoveryDelay == 0 ? DEFAULT_RECOVERY_DELAY : recoveryDelay);
    }

    /**
     * @notice Whether `account` is one of `patient`'s current guardians.
     * @param patient the patient
     * @param account the address to check
     * @return guardian true if it is a current guardian
     */
    function isGuardian(address patient, address account) external view returns (bool guardian) {
        return _guardians[_guardianKey(patient, _control[patient].guardianSet, account)];
    }

    /**
     * @notice As one of `patient`'s guardians, approve moving the patient's identity to `candidate` (the
     * first approval proposes it). Replaces the caller's earlier approval in this round. When the
     * candidate reaches the threshold it is scheduled for after the waiting period.
     * @param patient the patient the caller is a guardian of
     * @param candidate the new key: an address that is not registered and holds no patient's key
     */
    function approveRecovery(address patient, address candidate) external {
        Control storage c = _control[patient];
        if (!_guardians[_guardianKey(patient, c.guardianSet, msg.sender)]) revert NotGuardian(patient, msg.sender);
        _checkCandidate(candidate);
        uint32 round = c.round;
        bytes32 voteKey = keccak256(abi.encode(patient, round, msg.sender));
        address previous = _votes[voteKey];
        if (previous == candidate) revert AlreadyApproved(candidate);
        Recovery storage r = _recoveries[patient];
        if (previous != address(0)) {
            // Only the caller's own approval moves: no guardian can erase another's.
            _approvals[_tallyKey(patient, round, previous)] -= 1;
            if (r.candidate == previous && r.round == round) {
                delete _recoveries[patient];
                emit RecoveryCancelled(patient, msg.sender, previous);
            }
        }
        _votes[voteKey] = candidate;
        uint8 approvals = ++_approvals[_tallyKey(patient, round, candidate)];
        emit RecoveryApproved(patient, msg.sender, candidate, approvals);
        if (approvals == c.threshold) {
            uint40 readyAt = uint40(block.timestamp) + (c.recoveryDelay == 0 ? DEFAULT_RECOVERY_DELAY : c.recoveryDelay);
            _recoveries[patient] = Recovery(candidate, readyAt, round);
            emit RecoveryScheduled(patient, candidate, readyAt);
        }
    }

    /**
     * @notice Cancel `patient`'s recovery: the scheduled one if any, and every approval of this round.
     * The current controller only (the key a recovery would replace), at any time before finalisation.
     * @param patient the patient the caller holds the key of
     */
    function cancelRecovery(address patient) external {
        Control storage c = _onlyController(patient);
        Recovery memory r = _recoveries[patient];
        address candidate = r.round == c.round ? r.candidate : address(0);
        delete _recoveries[patient];
        c.round += 1;
        emit RecoveryCancelled(patient, msg.sender, candidate);
    }

    /**
     * @notice Move `patient`'s identity to the scheduled candidate once the waiting period is over.
     * Anyone may call it (usually the new key). Relationships, pointers, grants, delegates and guardians
     * all stay: they name the identity, not the key.
     * @param patient the patient whose recovery is scheduled
     * @param relationshipIds at the patient's first recovery, all of the patient's relationship ids in
     * ascending order (from the RelationshipAdded events; MedLedger checks the list is complete), so
     * each is marked as asking for the new key; ignored at later recoveries
     */
    function finalizeRecovery(address patient, uint256[] calldata relationshipIds) external {
        Control storage c = _control[patient];
        Recovery memory r = _recoveries[patient];
        if (r.candidate == address(0) || r.round != c.round) revert NoRecoveryScheduled(patient);
        if (block.timestamp < r.readyAt) revert RecoveryNotReady(r.readyAt);
        _checkCandidate(r.candidate); // it may have registered since it was approved
        address previous = c.controller;
        if (previous != address(0)) {
            delete patientOfController[previous];
            _accounts[previous].role = Role.None;
        } else {
            previous = patient;
        }
        c.controller = r.candidate;
        c.round += 1;
        delete _recoveries[patient];
        patientOfController[r.candidate] = patient;
        _accounts[r.candidate].role = Role.Controller;
        _onKeyMoved(patient, relationshipIds);
        emit ControllerChanged(patient, previous, r.candidate);
    }

    /**
     * @notice The recovery scheduled for `patient` in the current round (candidate 0 = none), and the
     * patient's settings (controller, guardian threshold, waiting period, break-glass switch).
     * @param patient the patient
     * @return recovery the scheduled candidate and when it is ready (zeros when none)
     * @return control the patient's settings
     */
    function recoveryOf(address patient) external view returns (Recovery memory recovery, Control memory control) {
        control = _control[patient];
        Recovery memory r = _recoveries[patient];
        if (r.round == control.round) recovery = r;
    }

    /**
     * @notice Approvals `candidate` holds in `patient`'s current recovery round.
     * @param patient the patient
     * @param candidate the proposed key
     * @return approvals guardian approvals in the current round
     */
    function approvalsOf(address patient, address candidate) external view returns (uint8 approvals) {
        return _approvals[_tallyKey(patient, _control[patient].round, candidate)];
    }

    /**
     * @notice The address that signs for `patient` now: the patient itself until a recovery moved it.
     * @param patient the patient
     * @return controller the patient's key
     */
    function controllerOf(address patient) public view returns (address controller) {
        address c = _control[patient].controller;
        return c == address(0) ? patient : c;
    }

    // ------------------------------------------------------------------ break-glass

    /**
     * @notice Open an emergency read of `patient`'s emergency data set for `duration` seconds (0 = 24 h,
     * at most 24 h), without the patient's consent. Accredited providers only, and only while the
     * patient allows break-glass. Opening again replaces the previous opening (and is another event).
     * @param patient a registered patient
     * @param reasonHash keccak256(salt ‖ reason) of the stated reason; the text goes to the gatekeeper
     * @param duration seconds the opening lasts; 0 = BREAK_GLASS_DURATION
     * @return expiresAt when the opening ends by itself
     */
    function openBreakGlass(address patient, bytes32 reasonHash, uint40 duration)
        external
        onlyAccredited(msg.sender)
        returns (uint40 expiresAt)
    {
        if (_accounts[patient].role != Role.Patient) revert NotRegisteredPatient(patient);
        if (_control[patient].breakGlassDisabled) revert BreakGlassDisabled(patient);
        if (reasonHash == bytes32(0)) revert ZeroReason();
        if (duration == 0) duration = BREAK_GLASS_DURATION;
        else if (duration > BREAK_GLASS_DURATION) revert InvalidBreakGlassDuration(duration);
        expiresAt = uint40(block.timestamp) + duration;
        _breakGlass[patient][msg.sender] = BreakGlass(uint40(block.timestamp), expiresAt);
        emit BreakGlassOpened(patient, msg.sender, reasonHash, expiresAt);
    }

    /**
     * @notice End `provider`'s open emergency read of `patient` now. The provider itself, or the
     * patient's controller.
     * @param patient the patient
     * @param provider the provider whose opening ends
     */
    function closeBreakGlass(address patient, address provider) external {
        if (msg.sender != provider && msg.sender != controllerOf(patient)) revert NotController(patient, msg.sender);
        if (_breakGlass[patient][provider].expiresAt <= block.timestamp) revert NoBreakGlass(patient, provider);
        delete _breakGlass[patient][provider];
        emit BreakGlassClosed(patient, provider, msg.sender);
    }

    /**
     * @notice Allow (default) or forbid break-glass openings of `patient`. Controller only; open ones
     * run on until they expire or the patient closes them.
     * @param patient the patient the caller holds the key of
     * @param allowed true = providers may open break-glass
     */
    function setBreakGlassAllowed(address patient, bool allowed) external {
        Control storage c = _onlyController(patient);
        c.breakGlassDisabled = !allowed;
        emit BreakGlassAllowed(patient, allowed);
    }

    /**
     * @notice The last opening of `patient` by `provider` (zeros when none or closed), expired or not.
     * @param patient the patient
     * @param provider the provider
     * @return opening when it opened and expires
     */
    function breakGlassOf(address patient, address provider) external view returns (BreakGlass memory opening) {
        return _breakGlass[patient][provider];
    }

    /**
     * @notice Reverts unless `provider` is accredited and has an open break-glass of `patient` now:
     * NotAccredited, NoBreakGlass or BreakGlassExpired say why. Used by gatekeepers through eth_call.
     * @param patient the patient
     * @param provider the provider reading
     * @return expiresAt when the opening ends
     */
    function checkBreakGlass(address patient, address provider) external view returns (uint40 expiresAt) {
        if (!_accounts[provider].accredited) revert NotAccredited(provider);
        expiresAt = _breakGlass[patient][provider].expiresAt;
        if (expiresAt == 0) revert NoBreakGlass(patient, provider);
        if (expiresAt <= block.timestamp) revert BreakGlassExpired(expiresAt);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Marks everything that must now ask for the controller (MedLedger: the patient's
    /// relationships, named by `relationshipIds`).
    function _onKeyMoved(address patient, uint256[] calldata relationshipIds) internal virtual;

    /// @dev The patient's settings, if the caller holds the patient's key (delegates do not).
    function _onlyController(address patient) internal view returns (Control storage c) {
        c = _control[patient];
        address controller = c.controller;
        if (controller == address(0) ? msg.sender != patient : msg.sender != controller) {
            revert NotController(patient, msg.sender);
        }
        if (_accounts[patient].role != Role.Patient) revert NotRegisteredPatient(patient);
    }

    /**
     * @dev Whether `account` may act for `patient` with `permission`, and the latest expiry of what it
     * does (0 = unbounded): the controller, or a live delegate holding the permission.
     */
    function _authority(address patient, address account, uint8 permission) internal view returns (bool, uint64) {
        if (account == controllerOf(patient)) return (true, 0);
        Delegation memory d = _delegations[patient][account];
        if (d.permissions & permission == 0 || (d.expiresAt != 0 && d.expiresAt <= block.timestamp)) return (false, 0);
        return (true, d.expiresAt);
    }

    function _checkCandidate(address candidate) private view {
        if (candidate == address(0) || _accounts[candidate].role != Role.None) revert InvalidController(candidate);
    }

    function _guardianKey(address patient, uint16 set, address guardian) private pure returns (bytes32) {
        return keccak256(abi.encode(patient, set, guardian));
    }

    function _tallyKey(address patient, uint32 round, address candidate) private pure returns (bytes32) {
        return keccak256(abi.encode(patient, round, candidate));
    }
}
