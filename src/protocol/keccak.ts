/**
 * keccak256 for the gatekeeper's hot path: every request hashes its EIP-712 digest (request-signature.ts)
 * and every decision the Merkle leaf of its AuditEvent (audit.ts, about 1.3 kB of JSON).
 *
 * The permutation runs as a small WebAssembly function (built below, instruction by instruction): its
 * 64-bit rotations are single instructions, and it hashes the audit leaf about five times faster than
 * js-sha3, whose unrolled 32-bit permutation is in turn about five times faster than @noble/hashes (which
 * viem uses) on Node 20. js-sha3 remains for input past the module's memory and where WebAssembly is
 * not allowed (a browser's content security policy). The results are the same function
 * (test/gatekeeper-signature.test.ts compares them with viem's).
 */
import sha3 from 'js-sha3';
import type { Hex } from 'viem';

// Strings are encoded here (a lone surrogate becoming U+FFFD), not by js-sha3. TextEncoder, not
// Buffer, so the same module runs in the browser (the EHR Manager signs requests with it).
const utf8 = new TextEncoder();
const bytesOf = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? utf8.encode(data) : data);

/** keccak256 of bytes, or of a string's UTF-8. */
export function keccak256Bytes(data: Uint8Array | string): Uint8Array {
  return wasmKeccak(data)?.slice() ?? new Uint8Array(sha3.keccak256.arrayBuffer(bytesOf(data)));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** keccak256 of bytes, or of a string's UTF-8, as 0x-hex. */
export function keccak256Hex(data: Uint8Array | string): Hex {
  const digest = wasmKeccak(data);
  if (!digest) return `0x${sha3.keccak256(bytesOf(data))}`;
  let hex = '0x';
  for (let i = 0; i < 32; i++) hex += HEX[digest[i]!];
  return hex as Hex;
}

/** Rate of keccak256 in bytes; the state is 25 little-endian 64-bit lanes at offset 0 of the memory. */
const RATE = 136;
/** Round constants at this offset, the padded input at INPUT, in one 64 KiB page. */
const RC_AT = 200;
const INPUT = 400;
const PAGE = 65_536;
const RC = [
  '0000000000000001', '0000000000008082', '800000000000808a', '8000000080008000', '000000000000808b', '0000000080000001',
  '8000000080008081', '8000000000008009', '000000000000008a', '0000000000000088', '0000000080008009', '000000008000000a',
  '000000008000808b', '800000000000008b', '8000000000008089', '8000000000008003', '8000000000008002', '8000000000000080',
  '000000000000800a', '800000008000000a', '8000000080008081', '8000000000008080', '0000000080000001', '8000000080008008',
];
/** ρ rotation of lane x + 5y. */
const RHO = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];

/**
 * The module: one function `f(blocks)` that absorbs `blocks` padded blocks from INPUT into the state,
 * running keccak-f[1600] after each. Locals: 0 blocks, 1 block pointer, 2 round (i32); the lanes a
 * (3–27), the permuted lanes b (28–52), the column parities c (53–57) and d (58) (i64).
 */
function keccakModule(): Uint8Array<ArrayBuffer> {
  const uleb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...uleb(n >>> 7)]);
  const sleb = (n: number): number[] => (n < 0x40 ? [n] : [(n & 0x7f) | 0x80, ...sleb(n >>> 7)]); // n ≥ 0
  const [A, B, C, D] = [3, 28, 53, 58];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const [XOR, AND, ROTL, I64] = [0x85, 0x83, 0x89, 0x42];
  const load = (offset: number) => [0x29, 3, ...uleb(offset)];
  const code: number[] = [];
  const emit = (...ops: unknown[]) => code.push(...(ops.flat(3) as number[]));
  for (let i = 0; i < 25; i++) emit(0x41, 0, load(i * 8), set(A + i));
  emit(0x41, sleb(INPUT), set(1)); // block pointer
  emit(0x02, 0x40, 0x03, 0x40, get(0), 0x45, 0x0d, 1); // block; loop; exit when no block is left
  for (let i = 0; i < RATE / 8; i++) emit(get(A + i), get(1), load(i * 8), XOR, set(A + i));
  emit(0x41, 0, set(2), 0x03, 0x40); // round = 0; loop
  for (let x = 0; x < 5; x++) emit(get(A + x), [1, 2, 3, 4].map((y) => [get(A + x + 5 * y), XOR]), set(C + x)); // θ
  for (let x = 0; x < 5; x++) {
    emit(get(C + ((x + 4) % 5)), get(C + ((x + 1) % 5)), I64, 1, ROTL, XOR, set(D));
    for (let y = 0; y < 5; y++) emit(get(A + x + 5 * y), get(D), XOR, set(A + x + 5 * y));
  }
  for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) emit(get(A + x + 5 * y), RHO[x + 5 * y] ? [I64, RHO[x + 5 * y]!, ROTL] : [], set(B + y + 5 * ((2 * x + 3 * y) % 5))); // ρ, π
  for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) emit(get(B + x + 5 * y), get(B + ((x + 1) % 5) + 5 * y), I64, 0x7f, XOR, get(B + ((x + 2) % 5) + 5 * y), AND, XOR, set(A + x + 5 * y)); // χ
  emit(get(A), get(2), 0x41, 3, 0x74, load(RC_AT), XOR, set(A)); // ι
  emit(get(2), 0x41, 1, 0x6a, 0x22, 2, 0x41, 24, 0x49, 0x0d, 0, 0x0b); // next round while < 24
  emit(get(1), 0x41, sleb(RATE), 0x6a, set(1), get(0), 0x41, 1, 0x6b, set(0), 0x0c, 0, 0x0b, 0x0b); // next block
  for (let i = 0; i < 25; i++) emit(0x41, 0, get(A + i), 0x37, 3, uleb(i * 8));
  const body = [2, 2, 0x7f, 56, 0x7e, ...code, 0x0b]; // locals: 2 × i32, 56 × i64
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 1, 0x7f, 0]), // type: (i32) → ()
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 1]), // one page
    ...section(7, [2, 1, 0x6d, 2, 0, 1, 0x66, 0, 0]), // exports "m" (memory), "f"
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

let wasm: { memory: Uint8Array; f: (blocks: number) => void } | null | undefined;

/** keccak256 through the WebAssembly permutation: a view of the digest (valid until the next call), or undefined where it cannot run. */
function wasmKeccak(data: Uint8Array | string): Uint8Array | undefined {
  if (wasm === undefined) {
    try {
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(keccakModule()));
      const memory = new Uint8Array((exports.m as WebAssembly.Memory).buffer);
      const view = new DataView(memory.buffer);
      RC.forEach((rc, i) => {
        view.setUint32(RC_AT + 8 * i, parseInt(rc.slice(8), 16), true);
        view.setUint32(RC_AT + 8 * i + 4, parseInt(rc.slice(0, 8), 16), true);
      });
      wasm = { memory, f: exports.f as (blocks: number) => void };
    } catch {
      wasm = null;
    }
  }
  if (!wasm) return undefined;
  const { memory, f } = wasm;
  let length: number;
  if (typeof data === 'string') {
    // At most 3 bytes a UTF-16 unit: a string that might not fit goes to js-sha3 unread.
    if (data.length * 3 > PAGE - INPUT - RATE) return undefined;
    length = utf8.encodeInto(data, memory.subarray(INPUT)).written;
  } else {
    if (data.length > PAGE - INPUT - RATE) return undefined;
    memory.set(data, INPUT);
    length = data.length;
  }
  const blocks = Math.floor(length / RATE) + 1;
  memory.fill(0, INPUT + length, INPUT + blocks * RATE);
  memory[INPUT + length] = 0x01; // keccak padding (not SHA-3's 0x06)
  memory[INPUT + blocks * RATE - 1]! |= 0x80;
  memory.fill(0, 0, 200);
  f(blocks);
  return memory.subarray(0, 32);
}
