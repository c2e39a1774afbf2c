// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Registrar} from "./Registrar.sol";
import {PatientControl} from "./PatientControl.sol";

/**
 * @title MedLedger
 * @notice Patient–provider relationships (PPRs), their data pointers, viewer grants and the patient's
 * Summary, on top of the Registrar. Nothing medical is stored: addresses, hashes, statuses and
 * expiries only. Query and scope strings appear in events (never in storage) and must pass the
 * on-chain-safe query grammar (resource type + category-level parameters, see README).
 *
 * Storage layout is chosen for gas (README, "Contract design and gas"):
 * - a relationship id is `patient << 96 | uint96(keccak256(patient, provider))`: derived from the
 *   pair, so one relationship per pair needs no index slot, and the patient is known without a read;
 * - one slot per relationship: provider, status, pointer count, last change, `keyMoved`;
 * - a pointer is one slot keyed by keccak(relationshipId, queryHash) holding the data hash;
 * - a grant is one word keyed by keccak(grantTag, relationshipId), deleted on revoke, where the
 *   grantTag is keccak256(viewer ‖ scope) (grantTagOf): one word names viewer and scope together.
 * The patient's relationships are not listed in storage: the Summary is the RelationshipAdded events
 * of the patient (indexed by patient), and the account's `relationshipCount` says how many there are.
 *
 * What the patient may do (respond, grant, revoke) is done by the patient's controller or a delegate
 * (PatientControl). The relationship slot carries `keyMoved`, copied from the patient's account, so the
 * usual case — the patient's own key, never recovered — is decided without another storage read.
 */
contract MedLedger is PatientControl {
    /// @notice Summary status of a relationship. New/Updated/AwaitingApproval are set by the provider,
    /// Accepted/Rejected by the patient.
    enum Status {
        None,
        New,
        Updated,
        AwaitingApproval,
        Accepted,
        Rejected
    }

    /// @notice One relationship: its provider, Summary status, number of pointers, when the status or
    /// the pointer count last changed, and whether the patient's key was moved by a recovery.
    struct Relationship {
        address provider;
        Status status;
        uint16 pointerCount;
        uint40 updatedAt;
        /// The patient's key was moved by a recovery: ask PatientControl who signs for them.
        bool keyMoved;
    }

    /// @notice A viewer's grant: live until revoked, usable until `expiresAt` (0 = no expiry).
    struct Grant {
        bool active;
        uint64 expiresAt;
    }

    /// @notice One entry of updatePointers: the data behind pointer `queryHash` of relationship
    /// `relationshipId` now hashes to `dataHash`.
    struct PointerUpdate {
        uint256 relationshipId;
        bytes32 queryHash;
        bytes32 dataHash;
    }

    /// @notice A provider's audit anchors, folded into one fixed record instead of a storage slot per
    /// anchor: each anchor's root stays in its AuditAnchored event, and `head` commits to all of them (a
    /// hash chain), so an event read from any node can be checked against storage. `nextSeq` keeps the
    /// anchored sequence numbers contiguous: no gaps, nothing anchored twice.
    struct AuditChain {
        /// keccak256(abi.encode(previous head, root, firstSeq, count, anchoredAt)) of the latest anchor
        /// (see AuditAnchored); 0 before the first.
        bytes32 head;
        /// The sequence number the next anchor must start at: the latest's firstSeq + count (0 at first).
        uint64 nextSeq;
    }

    uint256 private constant GRANT_ACTIVE = 1 << 64;
    /// @dev Bytes per PointerUpdate in calldata (three words, no offsets: the struct is static).
    uint256 private constant POINTER_UPDATE_SIZE = 0x60;

    /// @dev Bit positions of Relationship's fields in its slot (provider in the low 160 bits), for the
    /// hot paths that read the slot once as a word.
    uint256 private constant STATUS_SHIFT = 160;
    uint256 private constant STATUS_MASK = 0xff << 160;
    uint256 private constant UPDATED_AT_SHIFT = 184;
    uint256 private constant UPDATED_AT_MASK = 0xffffffffff << 184;
    uint256 private constant KEY_MOVED = 0xff << 224;

    mapping(uint256 relationshipId => Relationship) internal _relationships;
    mapping(bytes32 pointerKey => bytes32 dataHash) internal _pointers;
    // A grant is one word at slot keccak256(abi.encode(grantTag, relationshipId)) (_grantSlot, no
    // mapping): 0 = none, else `1 << 64 | expiresAt` (read and written whole, one SSTORE).
    /// @dev provider → its audit anchors folded into one fixed record (anchorAudit).
    mapping(address provider => AuditChain) internal _auditChains;

    /// @notice `provider` opened relationship `relationshipId` with `patient`; its status is New.
    event RelationshipAdded(uint256 indexed relationshipId, address indexed patient, address indexed provider);
    /// @notice A pointer `query` was added to a relationship with the hash of the data it returns.
    event PointerAdded(uint256 indexed relationshipId, bytes32 indexed queryHash, string query, bytes32 dataHash);
    /// @notice The data behind pointer `queryHash` changed; `dataHash` is its new hash.
    event PointerUpdated(uint256 indexed relationshipId, bytes32 indexed queryHash, bytes32 dataHash);
    /// @notice Pointer `queryHash` was removed from the relationship.
    event PointerRemoved(uint256 indexed relationshipId, bytes32 indexed queryHash);
    /// @notice The relationship's Summary status changed (emitted only when it changes; the patient is
    /// the id's upper 160 bits).
    event StatusChanged(uint256 indexed relationshipId, Status status);
    /// @notice The patient let `viewer` run `scope` on the relationship's data until `expiresAt` (0 = no
    /// expiry). The text is here because gatekeepers compile it into their filter; the grant's tag
    /// (grantTagOf(viewer, scope), which storage and ViewerRevoked use) is not, as anyone computes it.
    event ViewerGranted(uint256 indexed relationshipId, address indexed viewer, string scope, uint64 expiresAt);
    /// @notice The patient withdrew the grant `grantTag` (grantTagOf(viewer, scope)); readers find its
    /// viewer and scope in the ViewerGranted event whose pair hashes to it.
    event ViewerRevoked(uint256 indexed relationshipId, bytes32 indexed grantTag);

    /// @notice Gatekeeper of `provider` anchored the Merkle `root` of its audit events numbered `firstSeq`
    /// to `firstSeq + count - 1`, at block time `anchoredAt`, after the anchor whose head is
    /// `previousHead`. The provider's new head is keccak256(abi.encode(previousHead, root, firstSeq,
    /// count, anchoredAt)): a patient verifies an audit entry by finding this event (by root) and
    /// hashing the provider's later events up to its head in storage (auditChainOf).
    event AuditAnchored(
        address indexed provider,
        bytes32 indexed root,
        uint64 indexed firstSeq,
        uint64 count,
        uint64 anchoredAt,
        bytes32 previousHead
    );

    /// @notice `patient` already has relationship `relationshipId` with the caller.
    error RelationshipExists(uint256 relationshipId);
    /// @notice No relationship has id `relationshipId`.
    error UnknownRelationship(uint256 relationshipId);
    /// @notice `account` is not the provider of relationship `relationshipId`.
    error NotRelationshipProvider(uint256 relationshipId, address account);
    /// @notice `account` is not the patient of relationship `relationshipId`.
    error NotRelationshipPatient(uint256 relationshipId, address account);
    /// @notice The pointer already exists on this relationship.
    error PointerExists(bytes32 queryHash);
    /// @notice The relationship has no pointer `queryHash`.
    error UnknownPointer(bytes32 queryHash);
    /// @notice A data hash must be non-zero (an empty result still hashes to a non-zero value).
    error ZeroDataHash();
    /// @notice The relationship already holds the maximum number of pointers.
    error TooManyPointers();
    /// @notice The caller may not set `status`.
    error InvalidStatus(Status status);
    /// @notice `viewer` cannot be granted (zero address, or the patient or provider themself).
    error InvalidViewer(address viewer);
    /// @notice The patient rejected relationship `relationshipId`; it cannot be shared.
    error RelationshipRejected(uint256 relationshipId);
    /// @notice An audit batch needs a non-zero root and at least one sequence number (`count`), and
    /// must end before the largest uint64.
    error InvalidAuditBatch(bytes32 root, uint64 count);
    /// @notice The provider's next audit anchor must start at sequence number `expected` (the end of its
    /// previous one); `firstSeq` would leave a gap or anchor events twice.
    error AuditSequenceMismatch(uint64 expected, uint64 firstSeq);
    /// @notice No active grant for this viewer and scope.
    error NotGranted();
    /// @notice The grant expired at `expiresAt`.
    error GrantExpired(uint64 expiresAt);
    /// @notice A recovery must name all `expected` relationships of the patient; `given` were named.
    error IncompleteRelationshipList(uint256 expected, uint256 given);
    /// @notice `relationshipId` is not the patient's, does not exist, or is out of ascending order.
    error InvalidRelationshipList(uint256 relationshipId);

    /// @param governor the address (or multisig) that accredits providers
    constructor(address governor) Registrar(governor) {}

    // ------------------------------------------------------------------ provider

    /**
     * @notice Open a relationship with `patient` and its first pointer. Accredited providers only.
     * @param patient a registered patient
     * @param query on-chain-safe FHIR search the pointer stands for, e.g. `Observation?category=laboratory`
     * @param dataHash canonical hash of the data `query` returns now
     * @return relationshipId the new relationship's id (relationshipIdFor(patient, caller))
     */
    function addRelationship(address patient, string calldata query, bytes32 dataHash)
        external
        onlyAccredited(msg.sender)
        returns (uint256 relationshipId)
    {
        Account storage account = _accounts[patient];
        if (account.role != Role.Patient) revert NotRegisteredPatient(patient);
        if (dataHash == bytes32(0)) revert ZeroDataHash();
        relationshipId = relationshipIdFor(patient, msg.sender);
        Relationship storage rel = _relationships[relationshipId];
        // The slot names its provider: a pair whose 96-bit tag collided with another's is refused here.
        if (rel.provider != address(0)) revert RelationshipExists(relationshipId);
        // Counted, not listed: a recovery proves it flagged every relationship against this count.
        account.relationshipCount += 1;
        _relationships[relationshipId] = Relationship(msg.sender, Status.New, 1, uint40(block.timestamp), account.keyMoved);
        bytes32 queryHash = keccak256(bytes(query));
        _pointers[_pointerKey(relationshipId, queryHash)] = dataHash;
        emit RelationshipAdded(relationshipId, patient, msg.sender);
        emit PointerAdded(relationshipId, queryHash, query, dataHash);
    }

    /**
     * @notice Add another pointer to an existing relationship; status becomes Updated (a rejected
     * relationship stays Rejected).
     * @param relationshipId the caller's relationship
     * @param query on-chain-safe FHIR search
     * @param dataHash canonical hash of the data `query` returns now
     */
    function addPointer(uint256 relationshipId, string calldata query, bytes32 dataHash) external {
        Relationship storage rel = _providerRelationship(relationshipId);
        if (dataHash == bytes32(0)) revert ZeroDataHash();
        bytes32 queryHash = keccak256(bytes(query));
        bytes32 key = _pointerKey(relationshipId, queryHash);
        if (_pointers[key] != bytes32(0)) revert PointerExists(queryHash);
        uint16 count = rel.pointerCount;
        if (count == type(uint16).max) revert TooManyPointers();
        _pointers[key] = dataHash;
        rel.pointerCount = count + 1;
        emit PointerAdded(relationshipId, queryHash, query, dataHash);
        _markUpdated(relationshipId, rel, true);
    }

    /**
     * @notice Record that the data behind pointer `queryHash` changed (the seed's "update PPR");
     * status becomes Updated (a rejected relationship stays Rejected). When the status already is
     * Updated the relationship slot is not written: `updatedAt` keeps the time the status last changed.
     * @param relationshipId the caller's relationship
     * @param queryHash keccak256 of the pointer's query string
     * @param dataHash canonical hash of the data the query returns now
     */
    function updatePointer(uint256 relationshipId, bytes32 queryHash, bytes32 dataHash) external {
        _updatePointer(relationshipId, queryHash, dataHash, true);
    }

    /**
     * @notice updatePointer for many pointers, of any of the caller's relationships, in one
     * transaction: for each entry, in order, the same checks (UnknownRelationship,
     * NotRelationshipProvider, ZeroDataHash, UnknownPointer), the same store and the same events
     * (PointerUpdated, then StatusChanged when the status becomes Updated; a rejected relationship stays
     * Rejected, and one named twice changes status once). Accreditation is checked once, where
     * updatePointer checks it for the first entry: the refusals are those of the same updatePointer
     * calls sent one by one.
     * All or nothing: one bad entry reverts the batch with that entry's error. A provider is the only
     * writer of its relationships' pointers, so a bad entry is its own bug or stale view, not another
     * patient's doing; skipping it would leave a hash on chain that differs from the store with nothing
     * to say so but a log to search, while a revert is named by the gas estimate before anything is
     * sent, so the sender drops or fixes that entry and sends the rest.
     * @param updates the pointers and their new data hashes (an empty list changes nothing)
     */
    function updatePointers(PointerUpdate[] calldata updates) external {
        uint256 first;
        uint256 end;
        assembly ("memory-safe") {
            // The decoder has checked that the whole array lies within the calldata.
            first := updates.offset
            end := add(first, mul(updates.length, POINTER_UPDATE_SIZE))
        }
        unchecked {
            for (uint256 entry = first; entry < end; entry += POINTER_UPDATE_SIZE) {
                uint256 relationshipId;
                bytes32 queryHash;
                bytes32 dataHash;
                assembly ("memory-safe") {
                    relationshipId := calldataload(entry)
                    queryHash := calldataload(add(entry, 0x20))
                    dataHash := calldataload(add(entry, 0x40))
                }
                _updatePointer(relationshipId, queryHash, dataHash, entry == first);
            }
        }
    }

    /**
     * @notice Remove pointer `queryHash`; status becomes Updated (unless Rejected).
     * @param relationshipId the caller's relationship
     * @param queryHash keccak256 of the pointer's query string
     */
    function removePointer(uint256 relationshipId, bytes32 queryHash) external {
        Relationship storage rel = _providerRelationship(relationshipId);
        bytes32 key = _pointerKey(relationshipId, queryHash);
        if (_pointers[key] == bytes32(0)) revert UnknownPointer(queryHash);
        delete _pointers[key];
        rel.pointerCount -= 1;
        emit PointerRemoved(relationshipId, queryHash);
        _markUpdated(relationshipId, rel, true);
    }

    /**
     * @notice Set the Summary status of a relationship to New, Updated or AwaitingApproval.
     * Only the relationship's (accredited) provider; Accepted/Rejected belong to the patient, and a
     * rejected relationship cannot be reopened by the provider.
     * @param relationshipId the caller's relationship
     * @param status New, Updated or AwaitingApproval
     */
    function setStatus(uint256 relationshipId, Status status) external {
        // New, Updated or AwaitingApproval (1…3): one unsigned comparison.
        unchecked {
            if (uint8(status) - 1 >= uint8(Status.AwaitingApproval)) revert InvalidStatus(status);
        }
        // The relationship slot, read once as a word (checks of _providerRelationship, same order).
        uint256 slot = _relationshipSlot(relationshipId);
        uint256 word;
        assembly ("memory-safe") {
            word := sload(slot)
        }
        address provider = address(uint160(word));
        if (provider == address(0)) revert UnknownRelationship(relationshipId);
        if (provider != msg.sender) revert NotRelationshipProvider(relationshipId, msg.sender);
        if (!_accounts[msg.sender].accredited) revert NotAccredited(msg.sender);
        // A rejection is the patient's to lift: the provider cannot reopen the relationship (and so
        // revive grants made before it).
        if (uint8(word >> STATUS_SHIFT) == uint8(Status.Rejected)) revert RelationshipRejected(relationshipId);
        // status and updatedAt in one store, the rest of the word as it was.
        word = (word & ~(STATUS_MASK | UPDATED_AT_MASK)) | (uint256(status) << STATUS_SHIFT)
            | (block.timestamp << UPDATED_AT_SHIFT);
        bytes32 eventTopic = StatusChanged.selector;
        assembly ("memory-safe") {
            sstore(slot, word)
            mstore(0x00, status)
            log2(0x00, 0x20, eventTopic, relationshipId)
            stop()
        }
    }

    // ------------------------------------------------------------------ patient

    /**
     * @notice Accept or reject a relationship in the caller's Summary. Patient (their controller, or a
     * delegate with DELEGATE_RESPOND) only; may be repeated (a patient can change their mind).
     * @param relationshipId a relationship of the patient the caller acts for
     * @param accept true = Accepted, false = Rejected (which also stops every grant on it)
     */
    function respond(uint256 relationshipId, bool accept) external {
        Relationship storage rel = _existing(relationshipId);
        _actingPatient(relationshipId, rel, DELEGATE_RESPOND);
        _setStatus(relationshipId, rel, accept ? Status.Accepted : Status.Rejected);
    }

    /**
     * @notice Let `viewer` run `scope` (a FHIR search at most as wide as one of the relationship's
     * pointers) until `expiresAt`. Patient (controller, or a delegate with DELEGATE_GRANT, whose grants
     * cannot outlive the delegation) only. Granting again replaces the expiry.
     * @param relationshipId a relationship of the patient the caller acts for
     * @param viewer the third party (not the patient, the provider or the caller)
     * @param scope on-chain-safe FHIR search the viewer may run
     * @param expiresAt unix time the grant stops working; 0 = no expiry
     */
    function grantViewer(uint256 relationshipId, address viewer, string calldata scope, uint64 expiresAt) external {
        // The relationship slot, read once as a word; the checks and their order are _existing's,
        // _actingPatient's and then grantViewer's own.
        uint256 word;
        assembly ("memory-safe") {
            mstore(0x00, relationshipId)
            mstore(0x20, _relationships.slot)
            word := sload(keccak256(0x00, 0x40))
        }
        if (uint160(word) == 0) revert UnknownRelationship(relationshipId); // no provider
        uint64 limit;
        {
            bool notOwnKey;
            assembly ("memory-safe") {
                // msg.sender != patient || keyMoved: _actingPatient's slow path
                notOwnKey := or(xor(caller(), shr(96, relationshipId)), and(word, KEY_MOVED))
            }
            if (notOwnKey) limit = _delegateLimit(relationshipId, patientOf(relationshipId), DELEGATE_GRANT);
        }
        if (uint8(word >> STATUS_SHIFT) == uint8(Status.Rejected)) revert RelationshipRejected(relationshipId);
        {
            bool badViewer;
            bool past;
            assembly ("memory-safe") {
                // viewer == 0 || viewer == patient || viewer == provider || viewer == msg.sender; the
                // addresses are cleaned here (a Solidity address local may carry dirty upper bits).
                badViewer := or(
                    or(iszero(viewer), eq(viewer, shr(96, relationshipId))),
                    or(eq(viewer, and(word, 0xffffffffffffffffffffffffffffffffffffffff)), eq(viewer, caller()))
                )
                past := and(iszero(iszero(expiresAt)), iszero(gt(expiresAt, timestamp()))) // 0 < expiresAt <= now
            }
            if (badViewer) revert InvalidViewer(viewer);
            if (past) revert ExpiryInPast(expiresAt);
        }
        if (limit != 0 && (expiresAt == 0 || expiresAt > limit)) revert BeyondDelegation(expiresAt, limit);
        bytes32 eventTopic = ViewerGranted.selector;
        // One memory buffer from address 0 (not memory-safe: it overwrites scratch, the free memory
        // pointer and the zero slot, which is sound only because the call stops at the end of this
        // block and no Solidity code runs after it): the scope is copied from calldata once, hashed in
        // place behind the viewer, and the same bytes are the event's data, encoded as
        // `emit ViewerGranted(relationshipId, viewer, scope, expiresAt)` encodes them:
        // [0x40][expiresAt][length][scope, zero-padded to a multiple of 32 bytes].
        assembly {
            let buf := 0
            let len := scope.length
            let text := add(buf, 0x60)
            calldatacopy(text, scope.offset, len)
            mstore(add(text, len), 0) // the padding
            // The grant tag, keccak256(viewer ‖ scope) (grantTagOf): the viewer word right before the
            // text puts its 20 bytes at text - 20. Then the grant's slot, keccak256(abi.encode(tag,
            // relationshipId)) (_grantSlot), from the head's first two words.
            mstore(add(buf, 0x40), viewer)
            mstore(buf, keccak256(add(buf, 0x4c), add(len, 20)))
            mstore(add(buf, 0x20), relationshipId)
            sstore(keccak256(buf, 0x40), or(GRANT_ACTIVE, expiresAt))
            mstore(buf, 0x40)
            mstore(add(buf, 0x20), expiresAt)
            mstore(add(buf, 0x40), len)
            log3(buf, add(0x60, and(add(len, 31), not(31))), eventTopic, relationshipId, viewer)
            stop()
        }
    }

    /**
     * @notice Withdraw the grant `grantTag` (grantTagOf(viewer, scope): one word names the viewer and
     * the scope, so the call and its event are a word shorter). Patient (controller, or a delegate with
     * DELEGATE_GRANT) only. Effective from this block.
     * @param relationshipId a relationship of the patient the caller acts for
     * @param grantTag grantTagOf(viewer, scope) of the grant that ends
     */
    function revokeViewer(uint256 relationshipId, bytes32 grantTag) external {
        uint256 word;
        assembly ("memory-safe") {
            mstore(0x00, relationshipId)
            mstore(0x20, _relationships.slot)
            word := sload(keccak256(0x00, 0x40))
        }
        if (uint160(word) == 0) revert UnknownRelationship(relationshipId);
        address patient = address(uint160(relationshipId >> 96)); // patientOf
        bool notOwnKey;
        assembly ("memory-safe") {
            // msg.sender != patient || keyMoved (the patient is the id's upper 160 bits)
            notOwnKey := or(xor(caller(), shr(96, relationshipId)), and(word, KEY_MOVED))
        }
        if (notOwnKey) _delegateLimit(relationshipId, patient, DELEGATE_GRANT);
        uint256 slot = _grantSlot(relationshipId, grantTag);
        bytes32 eventTopic = ViewerRevoked.selector;
        bool granted;
        assembly ("memory-safe") {
            granted := sload(slot)
        }
        if (!granted) revert NotGranted();
        assembly ("memory-safe") {
            sstore(slot, 0)
            log3(0, 0, eventTopic, relationshipId, grantTag)
            stop()
        }
    }

    // ------------------------------------------------------------------ audit

    /**
     * @notice Anchor the Merkle root of a batch of the caller's gatekeeper audit events (who read
     * what). Accredited providers only. Leaves are keccak256 of each AuditEvent's canonical JSON;
     * pairs are hashed sorted (OpenZeppelin MerkleProof).
     * @dev Adds no storage slot (after a provider's first anchor): the root lives in the AuditAnchored
     * event, and the provider's one AuditChain record takes the new head (a hash chain over every
     * anchor) and the next sequence number. A slot per root made anchors, at one a minute per provider,
     * nine tenths of the state the region's chain added (docs/scale.md, "Chain growth"). Batches follow
     * each other with no gap and no overlap, so a transaction sent again after a rollback lands once, and
     * a second anchor of the same events is refused.
     * @param root Merkle root of the batch
     * @param firstSeq the first sequence number the batch covers: the end of the provider's previous
     * batch (auditChainOf(provider).nextSeq), 0 for its first
     * @param count how many sequence numbers the batch covers (numbers the gatekeeper's log skipped hold
     * no event, so this is at least the number of leaves)
     */
    function anchorAudit(bytes32 root, uint64 firstSeq, uint64 count) external onlyAccredited(msg.sender) {
        AuditChain storage chain = _auditChains[msg.sender];
        uint64 nextSeq = chain.nextSeq;
        bool badBatch;
        assembly ("memory-safe") {
            // root == 0 || count == 0 || firstSeq + count > type(uint64).max
            badBatch := or(or(iszero(root), iszero(count)), gt(add(firstSeq, count), 0xffffffffffffffff))
        }
        if (badBatch) revert InvalidAuditBatch(root, count);
        if (firstSeq != nextSeq) revert AuditSequenceMismatch(nextSeq, firstSeq);
        bytes32 eventTopic = AuditAnchored.selector;
        // In assembly for code size (the contract is close to EIP-170's 24,576 bytes): one buffer,
        // abi.encode(previousHead, root, firstSeq, count, anchoredAt), is hashed for the new head, and its
        // tail with the previous head copied after it is the event's data (count, anchoredAt, previousHead).
        assembly ("memory-safe") {
            let m := mload(0x40)
            let previousHead := sload(chain.slot)
            mstore(m, previousHead)
            mstore(add(m, 0x20), root)
            mstore(add(m, 0x40), firstSeq)
            mstore(add(m, 0x60), count)
            mstore(add(m, 0x80), timestamp())
            mstore(add(m, 0xa0), previousHead)
            sstore(chain.slot, keccak256(m, 0xa0))
            sstore(add(chain.slot, 1), add(firstSeq, count)) // nextSeq
            log4(add(m, 0x60), 0x60, eventTopic, caller(), root, firstSeq)
        }
    }

    /**
     * @notice The audit record of `provider` (both 0 before its first anchor).
     * @param provider the provider whose gatekeeper anchors
     * @return head keccak256(abi.encode(previous head, root, firstSeq, count, anchoredAt)) of the
     * provider's latest anchor, chained over all its AuditAnchored events
     * @return nextSeq the sequence number the provider's next anchor must start at
     */
    function auditChainOf(address provider) external view returns (bytes32 head, uint64 nextSeq) {
        AuditChain storage chain = _auditChains[provider];
        return (chain.head, chain.nextSeq);
    }

    // ------------------------------------------------------------------ views

    /**
     * @notice The id the relationship between `patient` and `provider` has (or would have): the patient
     * in the upper 160 bits, 96 bits of keccak256(abi.encode(patient, provider)) below.
     * @param patient the relationship's patient
     * @param provider the relationship's provider
     * @return relationshipId the derived id, whether or not the relationship exists
     */
    function relationshipIdFor(address patient, address provider) public pure returns (uint256 relationshipId) {
        return (uint256(uint160(patient)) << 96) | uint96(uint256(keccak256(abi.encode(patient, provider))));
    }

    /**
     * @notice The relationship between `patient` and `provider` (0 = none). One relationship per pair.
     * @param patient the relationship's patient
     * @param provider the relationship's provider
     * @return relationshipId its id, or 0 when they have none
     */
    function relationshipIdOf(address patient, address provider) external view returns (uint256 relationshipId) {
        relationshipId = relationshipIdFor(patient, provider);
        if (provider == address(0) || _relationships[relationshipId].provider != provider) return 0;
    }

    /**
     * @notice The patient whose Summary holds `relationshipId` (derived, no storage read).
     * @param relationshipId a relationship id
     * @return patient its upper 160 bits
     */
    function patientOf(uint256 relationshipId) public pure returns (address patient) {
        return address(uint160(relationshipId >> 96));
    }

    /**
     * @notice The relationship record (provider, status, pointer count, last change, key moved).
     * @param relationshipId an existing relationship (reverts UnknownRelationship otherwise)
     * @return relationship the stored record
     */
    function relationshipOf(uint256 relationshipId) external view returns (Relationship memory relationship) {
        return _existing(relationshipId);
    }

    /**
     * @notice Current data hash of pointer `queryHash` (zero if there is no such pointer).
     * @param relationshipId a relationship id
     * @param queryHash keccak256 of the pointer's query string
     * @return dataHash the pointer's data hash, or zero
     */
    function pointerOf(uint256 relationshipId, bytes32 queryHash) external view returns (bytes32 dataHash) {
        return _pointers[_pointerKey(relationshipId, queryHash)];
    }

    /**
     * @notice The tag a grant of `scope` to `viewer` is stored and revoked under: keccak256 of the
     * viewer's 20 bytes followed by the scope's bytes (abi.encodePacked; the viewer's length is fixed,
     * so no two pairs share a preimage). The scope is taken as bytes, its UTF-8 text, and
     * checkAccess's parameters are in the order they are because the selectors these signatures give
     * keep every transaction's dispatch as cheap as before (README, "Contract design and gas").
     * @param viewer the third party
     * @param scope the scope string's UTF-8 bytes, byte for byte as granted
     * @return grantTag keccak256(abi.encodePacked(viewer, scope))
     */
    function grantTagOf(address viewer, bytes calldata scope) public pure returns (bytes32 grantTag) {
        return keccak256(abi.encodePacked(viewer, scope));
    }

    /**
     * @notice The stored grant `grantTag` on the relationship, expired or not (none on a relationship
     * that does not exist: _grantSlot is a grant's only for an existing one).
     * @param relationshipId a relationship id
     * @param grantTag grantTagOf(viewer, scope)
     * @return grant active flag and expiry (all zero when none)
     */
    function grantOf(uint256 relationshipId, bytes32 grantTag) external view returns (Grant memory grant) {
        if (_relationships[relationshipId].provider == address(0)) return grant;
        uint256 g = _grantWord(relationshipId, grantTag);
        return Grant(g != 0, uint64(g));
    }

    /**
     * @notice Reverts unless `viewer` may run `scope` on the relationship now: NotGranted,
     * GrantExpired or RelationshipRejected say why. Used by gatekeepers through eth_call.
     * @param relationshipId a relationship id
     * @param scope the scope string the viewer runs, byte for byte as granted
     * @param viewer the third party asking
     * @return expiresAt the grant's expiry (0 = none)
     */
    function checkAccess(uint256 relationshipId, string calldata scope, address viewer)
        external
        view
        returns (uint64 expiresAt)
    {
        if (_existing(relationshipId).status == Status.Rejected) revert RelationshipRejected(relationshipId);
        uint256 grant = _grantWord(relationshipId, grantTagOf(viewer, bytes(scope)));
        if (grant == 0) revert NotGranted();
        expiresAt = uint64(grant);
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert GrantExpired(expiresAt);
    }

    // ------------------------------------------------------------------ internals

    function _existing(uint256 relationshipId) private view returns (Relationship storage rel) {
        rel = _relationships[relationshipId];
        if (rel.provider == address(0)) revert UnknownRelationship(relationshipId);
    }

    /// @dev The relationship, if the caller is its provider and still accredited (read on every write:
    /// a revoked accreditation must stop the provider at once, README "Contract design and gas").
    function _providerRelationship(uint256 relationshipId) private view returns (Relationship storage rel) {
        rel = _existing(relationshipId);
        if (rel.provider != msg.sender) revert NotRelationshipProvider(relationshipId, msg.sender);
        if (!_accounts[msg.sender].accredited) revert NotAccredited(msg.sender);
    }

    /**
     * @dev The relationship's patient, if the caller acts for them with `permission`; `limit` is the
     * latest expiry the caller may give (0 = any). The patient's own key, never moved, is decided from
     * the relationship slot alone.
     */
    function _actingPatient(uint256 relationshipId, Relationship storage rel, uint8 permission)
        private
        view
        returns (address patient, uint64 limit)
    {
        patient = patientOf(relationshipId);
        if (msg.sender == patient && !rel.keyMoved) return (patient, 0);
        limit = _delegateLimit(relationshipId, patient, permission);
    }

    /// @dev _actingPatient's slow path (the caller is not the patient's own, never-moved key): the
    /// latest expiry the caller may give (0 = any), or NotRelationshipPatient.
    function _delegateLimit(uint256 relationshipId, address patient, uint8 permission) private view returns (uint64 limit) {
        bool ok;
        (ok, limit) = _authority(patient, msg.sender, permission);
        if (!ok) revert NotRelationshipPatient(relationshipId, msg.sender);
    }

    /**
     * @dev At the patient's first recovery: every relationship asks for the controller from then on
     * (about 5,000 gas per relationship; later ones copy the account's flag). The relationships are not
     * listed in storage, so the caller names them: all `relationshipCount` of them, each the patient's
     * and existing, in strictly ascending order (so none twice) — the list is then provably complete.
     */
    function _onKeyMoved(address patient, uint256[] calldata relationshipIds) internal override {
        Account storage account = _accounts[patient];
        if (account.keyMoved) return;
        uint256 count = account.relationshipCount;
        if (relationshipIds.length != count) revert IncompleteRelationshipList(count, relationshipIds.length);
        account.keyMoved = true;
        uint256 previous = 0;
        for (uint256 i = 0; i < count; i++) {
            uint256 id = relationshipIds[i];
            Relationship storage rel = _relationships[id];
            if (id <= previous || patientOf(id) != patient || rel.provider == address(0)) revert InvalidRelationshipList(id);
            rel.keyMoved = true;
            previous = id;
        }
    }

    function _setStatus(uint256 relationshipId, Relationship storage rel, Status status) private {
        rel.status = status;
        rel.updatedAt = uint40(block.timestamp);
        emit StatusChanged(relationshipId, status);
    }

    /**
     * @dev After a pointer change: status Updated, unless the patient rejected the relationship (only
     * the patient can change that) or it already is Updated (no event, and no write unless the pointer
     * count changed: `countChanged` stamps updatedAt).
     */
    function _markUpdated(uint256 relationshipId, Relationship storage rel, bool countChanged) private {
        Status status = rel.status;
        if (status != Status.Updated && status != Status.Rejected) {
            _setStatus(relationshipId, rel, Status.Updated);
        } else if (countChanged) {
            rel.updatedAt = uint40(block.timestamp);
        }
    }

    /**
     * @dev updatePointer, and each entry of updatePointers: the checks of _providerRelationship (the
     * accreditation only when `checkAccredited`: once per transaction), ZeroDataHash, UnknownPointer,
     * then the store, PointerUpdated and _markUpdated. The relationship slot is read once as a word and
     * every hash and event is made in scratch memory (a batch's memory does not grow with its length).
     */
    function _updatePointer(uint256 relationshipId, bytes32 queryHash, bytes32 dataHash, bool checkAccredited) private {
        uint256 slot = _relationshipSlot(relationshipId);
        uint256 word;
        assembly ("memory-safe") {
            word := sload(slot)
        }
        address provider = address(uint160(word));
        if (provider == address(0)) revert UnknownRelationship(relationshipId);
        if (provider != msg.sender) revert NotRelationshipProvider(relationshipId, msg.sender);
        if (checkAccredited && !_accounts[msg.sender].accredited) revert NotAccredited(msg.sender);
        if (dataHash == bytes32(0)) revert ZeroDataHash();
        uint256 pointerSlot = _pointerSlot(relationshipId, queryHash);
        bool exists;
        assembly ("memory-safe") {
            exists := iszero(iszero(sload(pointerSlot)))
        }
        if (!exists) revert UnknownPointer(queryHash);
        bytes32 eventTopic = PointerUpdated.selector;
        assembly ("memory-safe") {
            sstore(pointerSlot, dataHash)
            mstore(0x00, dataHash)
            log3(0x00, 0x20, eventTopic, relationshipId, queryHash)
        }
        uint256 status = uint8(word >> STATUS_SHIFT);
        if (status != uint8(Status.Updated) && status != uint8(Status.Rejected)) _markWordUpdated(relationshipId, slot, word);
    }

    /// @dev _markUpdated on a relationship slot held as a word: status Updated and updatedAt now in one
    /// store, the rest of the word as it was, and StatusChanged.
    function _markWordUpdated(uint256 relationshipId, uint256 slot, uint256 word) private {
        word = (word & ~(STATUS_MASK | UPDATED_AT_MASK)) | (uint256(Status.Updated) << STATUS_SHIFT)
            | (uint256(uint40(block.timestamp)) << UPDATED_AT_SHIFT);
        bytes32 eventTopic = StatusChanged.selector;
        uint256 status = uint256(Status.Updated);
        assembly ("memory-safe") {
            sstore(slot, word)
            mstore(0x00, status)
            log2(0x00, 0x20, eventTopic, relationshipId)
        }
    }

    /// @dev The storage slot of `_pointers[_pointerKey(relationshipId, queryHash)]`, hashed in scratch.
    function _pointerSlot(uint256 relationshipId, bytes32 queryHash) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, relationshipId)
            mstore(0x20, queryHash)
            mstore(0x00, keccak256(0x00, 0x40))
            mstore(0x20, _pointers.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    function _pointerKey(uint256 relationshipId, bytes32 queryHash) private pure returns (bytes32) {
        return keccak256(abi.encode(relationshipId, queryHash));
    }

    /// @dev The storage slot of `_relationships[relationshipId]`.
    function _relationshipSlot(uint256 relationshipId) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, relationshipId)
            mstore(0x20, _relationships.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    /**
     * @dev The storage slot of a grant: keccak256(abi.encode(grantTag, relationshipId)) itself, hashed
     * in scratch memory (no second hash with a mapping's slot). Like a mapping's slot it is a keccak256
     * output of two words, and it shares a slot with no mapping: a mapping's preimage ends with a
     * small slot number or, nested, with another mapping's slot, a keccak256 output, while this one
     * ends with a relationship id, which starts with its patient's address (a grant is written, read
     * and revoked only on an existing relationship, whose patient registered with their own key; aiming
     * an address at a keccak256 output is 2^160 work). The tag comes first because anyone can choose it
     * (grantTagOf hashes any bytes of 20 or more), so it must not be the word that tells slots apart.
     */
    function _grantSlot(uint256 relationshipId, bytes32 grantTag) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, grantTag)
            mstore(0x20, relationshipId)
            slot := keccak256(0x00, 0x40)
        }
    }

    /// @dev The grant word at `_grantSlot` (0 = none, else `GRANT_ACTIVE | expiresAt`).
    function _grantWord(uint256 relationshipId, bytes32 grantTag) private view returns (uint256 grant) {
        uint256 slot = _grantSlot(relationshipId, grantTag);
        assembly ("memory-safe") {
            grant := sload(slot)
        }
    }
}
