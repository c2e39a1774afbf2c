/**
 * # Secure aggregation of the sites' updates
 *
 * Bonawitz, Ivanov, Kreuter, Marcedone, McMahan, Patel, Ramage, Segal, Seth, "Practical Secure
 * Aggregation for Privacy-Preserving Machine Learning", CCS 2017 (https://eprint.iacr.org/2017/281),
 * §4, in its honest-but-curious form (rounds 0, 1, 2 and 4; no round-3 consistency check, no signatures).
 * The coordinator learns the sum of the sites' vectors and nothing else about any one of them.
 *
 * ## Phases (each site is a `SecAggSite`; the coordinator relays every message and calls `aggregate`)
 * 0. **advertise** — each site u draws fresh x25519 key pairs (c_u for encrypting, s_u for masking) and a
 *    self-mask seed b_u, and sends c_u^PK, s_u^PK and a sha256 commitment to b_u.
 * 1. **shareKeys** — given the adverts (at least `threshold`), u splits s_u^SK and b_u into Shamir
 *    t-of-n shares (shamir.ts, over 2^255 − 19) and sends each other advertised site v its two shares,
 *    encrypted with XChaCha20-Poly1305 under HKDF(x25519(c_u, c_v), session, "u→v").
 * 2. **maskInput** — given the shares addressed to it (their senders are U2, the sites that shared),
 *    u sends y_u = x_u + PRG(b_u) + Σ_{v∈U2, v after u} PRG(s_uv) − Σ_{v∈U2, v before u} PRG(s_uv) mod 2^64,
 *    where x_u is its input in fixed point (fixed-point.ts) and s_uv = HKDF(x25519(s_u, s_v), session, {u,v}).
 * 3. **unmask** — given the survivors U3 (whose y the coordinator holds) and the dropped U2 \ U3, each
 *    survivor sends its shares of b_v for every survivor v and of s_d^SK for every dropped d — never
 *    both for one site, and only once per round. `aggregate` rebuilds them from any `threshold` sites
 *    (checking each against the phase-0 public key or commitment), removes PRG(b_v) for survivors and
 *    the dropped sites' pairwise masks from the sum, and decodes Σ_{v∈U3} x_v.
 * Every key is derived with the session id as HKDF salt (keys.ts) and every key pair is fresh per
 * `SecAggSite`, so no mask repeats across rounds or studies. Sessions need n ≥ 3 sites (at most 64)
 * and a threshold n/2 < t ≤ n; `minimumThreshold(n)` gives the smallest.
 *
 * ## What the coordinator sees
 * Public keys, ciphertexts of shares, the masked vectors y_u, and in phase 3 the survivors' seeds b_v
 * and the dropped sites' mask keys. For a survivor v, y_v − PRG(b_v) is still hidden by one uniform
 * pairwise mask per other survivor, whose keys it never gets; for a dropped site d whose y_d arrives
 * late, removing d's pairwise masks leaves x_d + PRG(b_d), and no survivor reveals shares of b_d (that
 * is the point of the double mask). test/research-secagg.test.ts measures it: site-a's masked vectors,
 * before and after its self mask is removed, are uniform mod 2^64 and uncorrelated with its input.
 * What the coordinator does learn is the sum over the survivors — so with survivors {u, v} and v's input
 * known to it, u's follows. Hiding one patient inside a site's input is the job of the differential-
 * privacy noise the sites add before masking (src/ml/research), not of this protocol.
 *
 * ## Threat model: exactly what holds
 * - **Honest-but-curious coordinator** (runs the protocol as written, keeps and studies every message):
 *   learns the sum over the survivors and nothing else about any site's input. With up to t − 1 sites
 *   colluding with it, it learns nothing beyond the sum of the other survivors' inputs (Bonawitz et al.
 *   §6, honest-but-curious security). Sites alone, any number of them, learn nothing of another site's
 *   input: they never see a masked vector.
 * - **Dropouts**: up to n − t sites may fail at any phase. A site that fails after sharing its keys has
 *   its pairwise masks removed with its key rebuilt from the survivors' shares; one that fails before
 *   simply is not masked with. Fewer than t sites left at any phase is a plain error, never a wrong sum.
 * - **Never both secrets**: each site answers phase 3 once per round (an identical retry gets the same
 *   answer) and refuses a list naming one site both survivor and dropped, or differing from the sites
 *   that shared with it. As t > n/2, two disjoint groups of t sites cannot exist, so even a coordinator
 *   that tells different sites different stories cannot collect t shares of both b_u and s_u.
 * - **Altered messages**: a share changed, re-addressed, replayed from another session or forged in
 *   transit fails authentication (XChaCha20-Poly1305, session and both sites as associated data) at its
 *   recipient; a wrong revealed share makes `aggregate` fail its check against the phase-0 public key or
 *   commitment. (A change x25519's clamping ignores — the key's three low bits — yields the same masks.)
 * - **What breaks it**: the coordinator together with t or more sites can rebuild any other site's
 *   secrets and read its input alone, not only the sum (with n = 5, t = 3: three colluders expose each
 *   of the other two). An **active** coordinator is not covered: adverts carry no site signature here,
 *   so one that substitutes its own public keys for a site's (a man in the middle) receives that
 *   site's partners' shares; the paper's §4 signatures on the adverts (and its consistency round) are
 *   the fix — sites would sign their adverts with their provider keys and check each other's against
 *   the chain. Inputs are only range-checked (±2^24): a site can bias the sum; bounding one site's or one
 *   patient's influence is the job of clipping and DP.
 */
export { aggregate } from './aggregate.js';
export { decodeFixedPoint, encodeFixedPoint, FIXED_POINT_SCALE, MAX_ABS_VALUE, MAX_SITES } from './fixed-point.js';
export {
  minimumThreshold,
  validateSession,
  type AdvertiseKeys,
  type EncryptedShare,
  type MaskedInput,
  type RevealedShare,
  type SecAggSession,
  type Unmasking,
} from './session.js';
export { SecAggSite } from './site.js';
