/**
 * One site's side of one round of secure aggregation (Bonawitz et al., CCS 2017, §4, honest-but-curious
 * version: rounds 0, 1, 2 and 4). A SecAggSite lives for exactly one round: its keys and
 * seed are fresh, each phase runs once (a repeat with the same arguments returns the same answer, for
 * retries over HTTP; a repeat with different ones is refused), and it never reveals both the share of
 * a site's self-mask seed and the share of its mask key. See index.ts for the whole protocol.
 */
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils';
import { encodeFixedPoint } from './fixed-point.js';
import { applyPairwiseMask, applySelfMask } from './masks.js';
import { agree, commitment, deriveKey, fromHex, NONCE_BYTES, open, publicKeyOf, seal, toHex } from './keys.js';
import {
  checkDistinct,
  checkMessage,
  pointOf,
  readAdverts,
  validateSession,
  type AdvertiseKeys,
  type EncryptedShare,
  type MaskedInput,
  type PublicKeys,
  type SecAggSession,
  type Unmasking,
} from './session.js';
import { FIELD_BYTES, FIELD_PRIME, bytesToField, fieldToBytes, randomFieldElement, splitSecret } from './shamir.js';

/** Shares this site holds of another site's (or its own) two secrets. */
interface HeldShares {
  maskKey: bigint;
  selfMaskSeed: bigint;
}

export class SecAggSite {
  readonly session: SecAggSession;
  readonly site: string;
  readonly #random: (n: number) => Uint8Array;
  readonly #cipherPrivateKey: Uint8Array;
  readonly #maskSecret: bigint;
  readonly #selfMaskSeed: bigint;
  #peers?: Map<string, PublicKeys>;
  #held = new Map<string, HeldShares>();
  #answers = new Map<string, { key: string; answer: unknown }>();
  /** x25519(c_u, c_v) per other site v, computed once for both directions. */
  #cipherSecrets = new Map<string, Uint8Array>();

  /** `random` returns n random bytes (default: the platform's CSPRNG); inject a seeded one only in tests. */
  constructor(session: SecAggSession, site: string, random: (n: number) => Uint8Array = randomBytes) {
    this.session = validateSession(session);
    if (!session.sites.includes(site)) throw new Error(`${site} is not one of this session's sites`);
    this.site = site;
    this.#random = random;
    this.#cipherPrivateKey = random(32).slice();
    this.#maskSecret = randomFieldElement(random);
    this.#selfMaskSeed = randomFieldElement(random);
  }

  /** Phase 0: this site's two public keys and its commitment to the self-mask seed. */
  advertise(): AdvertiseKeys {
    return {
      sessionId: this.session.sessionId,
      site: this.site,
      cipherPublicKey: toHex(publicKeyOf(this.#cipherPrivateKey)),
      maskPublicKey: toHex(publicKeyOf(fieldToBytes(this.#maskSecret))),
      selfMaskCommitment: toHex(commitment(this.session.sessionId, this.site, fieldToBytes(this.#selfMaskSeed))),
    };
  }

  /** Phase 1: Shamir shares of the mask key and self-mask seed, one encrypted message per other advertised site. */
  shareKeys(adverts: AdvertiseKeys[]): EncryptedShare[] {
    return this.#once('shareKeys', adverts, () => this.#shareKeys(adverts));
  }

  #shareKeys(adverts: AdvertiseKeys[]): EncryptedShare[] {
    const peers = readAdverts(this.session, adverts);
    const mine = this.advertise();
    const own = adverts.find((a) => a.site === this.site);
    const fields = ['cipherPublicKey', 'maskPublicKey', 'selfMaskCommitment'] as const;
    if (!own || fields.some((field) => own[field] !== mine[field])) {
      throw new Error(`the advertised keys do not include ${this.site}'s own keys as it sent them`);
    }
    const { threshold, sites } = this.session;
    const maskShares = splitSecret(this.#maskSecret, threshold, sites.length, this.#random);
    const seedShares = splitSecret(this.#selfMaskSeed, threshold, sites.length, this.#random);
    const shareFor = (site: string): HeldShares => {
      const index = pointOf(this.session, site) - 1;
      return { maskKey: maskShares[index]!.y, selfMaskSeed: seedShares[index]!.y };
    };
    this.#peers = peers;
    this.#held.set(this.site, shareFor(this.site));
    return [...peers.keys()]
      .filter((to) => to !== this.site)
      .map((to) => {
        const held = shareFor(to);
        const plaintext = new Uint8Array([...fieldToBytes(held.maskKey), ...fieldToBytes(held.selfMaskSeed)]);
        const nonce = this.#random(NONCE_BYTES).slice();
        const ciphertext = seal(this.#shareKey(this.site, to), nonce, this.#associated(this.site, to), plaintext);
        return { sessionId: this.session.sessionId, from: this.site, to, nonce: toHex(nonce), ciphertext: toHex(ciphertext) };
      });
  }

  /** The key for shares sent from `from` to `to`: one per direction, so each key encrypts one message. */
  #shareKey(from: string, to: string): Uint8Array {
    const other = from === this.site ? to : from;
    let secret = this.#cipherSecrets.get(other);
    if (!secret) {
      secret = agree(this.#cipherPrivateKey, this.#peers!.get(other)!.cipherPublicKey);
      this.#cipherSecrets.set(other, secret);
    }
    return deriveKey(secret, this.session.sessionId, 'share-encryption', [from, to]);
  }

  #associated(from: string, to: string): Uint8Array {
    return utf8ToBytes(JSON.stringify([this.session.sessionId, from, to]));
  }

  /**
   * Phase 2: `input` masked with the self mask and a pairwise mask with every site whose shares
   * reached this site (`shares`: the phase-1 messages addressed to it). Throws on a share that was
   * altered or forged (authenticated encryption), or when fewer than `threshold` sites shared.
   */
  maskInput(input: readonly number[], shares: EncryptedShare[]): MaskedInput {
    return this.#once('maskInput', [input, shares], () => this.#maskInput(input, shares));
  }

  #maskInput(input: readonly number[], shares: EncryptedShare[]): MaskedInput {
    const peers = this.#peers;
    if (!peers) throw new Error('phase 2 before phase 1: share keys first');
    if (!Array.isArray(input) || input.length !== this.session.length) {
      throw new Error(`the input has ${Array.isArray(input) ? input.length : 'no'} values, not ${this.session.length}`);
    }
    const vector = encodeFixedPoint(input);
    if (!Array.isArray(shares)) throw new Error('the shares must be a list');
    const received = shares.map((s) => this.#readShare(s, peers));
    const senders = received.map((r) => r.from);
    checkDistinct(senders, 'shares');
    const sharing = senders.length + 1;
    if (sharing < this.session.threshold) {
      throw new Error(`only ${sharing} of ${this.session.sites.length} sites shared their keys; the threshold is ${this.session.threshold}`);
    }
    for (const { from, held } of received) this.#held.set(from, held);
    applySelfMask(this.session, vector, this.site, fieldToBytes(this.#selfMaskSeed));
    for (const other of senders) applyPairwiseMask(this.session, vector, this.site, other, fieldToBytes(this.#maskSecret), peers.get(other)!.maskPublicKey);
    return { sessionId: this.session.sessionId, site: this.site, values: vector.map(String) };
  }

  /** Decrypts one share addressed to this site: its sender and the two shares it holds. */
  #readShare(share: EncryptedShare, peers: Map<string, PublicKeys>): { from: string; held: HeldShares } {
    const from = checkMessage(this.session, share, 'a share', 'from');
    if (share.to !== this.site) throw new Error(`a share from ${from} is addressed to ${String(share.to)}, not to ${this.site}`);
    if (from === this.site) throw new Error(`a share from ${this.site} to itself`);
    if (!peers.has(from)) throw new Error(`a share from ${from}, which did not advertise keys in phase 0`);
    let plaintext: Uint8Array;
    try {
      const nonce = fromHex(share.nonce, NONCE_BYTES, 'the nonce');
      plaintext = open(this.#shareKey(from, this.site), nonce, this.#associated(from, this.site), fromHex(share.ciphertext, undefined, 'the ciphertext'));
    } catch (error) {
      throw new Error(`the share from ${from} to ${this.site} failed authentication: it was altered or not encrypted by ${from} (${(error as Error).message})`);
    }
    if (plaintext.length !== 2 * FIELD_BYTES) throw new Error(`the share from ${from} has ${plaintext.length} bytes, not ${2 * FIELD_BYTES}`);
    const maskKey = bytesToField(plaintext.subarray(0, FIELD_BYTES));
    const selfMaskSeed = bytesToField(plaintext.subarray(FIELD_BYTES));
    if (maskKey >= FIELD_PRIME || selfMaskSeed >= FIELD_PRIME) throw new Error(`the share from ${from} is not a field element`);
    return { from, held: { maskKey, selfMaskSeed } };
  }

  /**
   * Phase 3 (the paper's round 4): shares of each survivor's self-mask seed and each dropped site's
   * mask key. `survivors` (sites whose masked input the coordinator holds) and `dropped` must together
   * be exactly the sites that shared keys with this one, and never overlap: revealing both shares of
   * one site would let the coordinator unmask its input.
   */
  unmask(survivors: string[], dropped: string[]): Unmasking {
    if (!Array.isArray(survivors) || !Array.isArray(dropped)) throw new Error('survivors and dropped must be lists');
    // The same sets in another order are the same question.
    return this.#once('unmask', [[...survivors].sort(), [...dropped].sort()], () => this.#unmask(survivors, dropped));
  }

  #unmask(survivors: string[], dropped: string[]): Unmasking {
    if (!this.#answers.has('maskInput')) throw new Error('phase 3 before phase 2: mask the input first');
    checkDistinct(survivors, 'survivor entries');
    checkDistinct(dropped, 'dropped entries');
    const both = survivors.find((s) => dropped.includes(s));
    if (both !== undefined) throw new Error(`refusing to reveal both the self-mask share and the key share of ${both}: that would unmask its input`);
    for (const s of [...survivors, ...dropped]) if (!this.#held.has(s)) throw new Error(`${String(s)} did not share keys with ${this.site} in this round`);
    const missing = [...this.#held.keys()].filter((s) => !survivors.includes(s) && !dropped.includes(s));
    if (missing.length > 0) throw new Error(`${missing.join(', ')} shared keys but is listed neither as survivor nor as dropped`);
    if (!survivors.includes(this.site)) throw new Error(`${this.site} is not listed among the survivors`);
    if (survivors.length < this.session.threshold) throw new Error(`only ${survivors.length} survivors; the threshold is ${this.session.threshold}`);
    const order = (sites: string[]) => [...sites].sort((a, b) => pointOf(this.session, a) - pointOf(this.session, b));
    const reveal = (site: string, value: bigint) => ({ site, share: toHex(fieldToBytes(value)) });
    return {
      sessionId: this.session.sessionId,
      site: this.site,
      survivors: order(survivors),
      dropped: order(dropped),
      selfMaskShares: order(survivors).map((s) => reveal(s, this.#held.get(s)!.selfMaskSeed)),
      maskKeyShares: order(dropped).map((s) => reveal(s, this.#held.get(s)!.maskKey)),
    };
  }

  /** Runs a phase once; the same arguments again give the same answer, different ones an error. */
  #once<T>(phase: string, args: unknown, run: () => T): T {
    const key = JSON.stringify(args);
    const done = this.#answers.get(phase);
    if (done) {
      if (done.key !== key) throw new Error(`${phase} already ran in this round with other arguments; a site answers each phase once`);
      return done.answer as T;
    }
    const answer = run();
    this.#answers.set(phase, { key, answer });
    return answer;
  }
}
