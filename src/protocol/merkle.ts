/**
 * Merkle trees compatible with OpenZeppelin's MerkleProof: internal nodes hash their two children
 * sorted, so a proof is just the sibling hashes. An odd node at the end of a level moves up as is.
 */
import { concat, keccak256, type Hex } from 'viem';

const hashPair = (a: Hex, b: Hex): Hex => (a.toLowerCase() < b.toLowerCase() ? keccak256(concat([a, b])) : keccak256(concat([b, a])));

function levels(leaves: readonly Hex[]): Hex[][] {
  if (leaves.length === 0) throw new Error('a Merkle tree needs at least one leaf');
  const out: Hex[][] = [[...leaves]];
  while (out[out.length - 1]!.length > 1) {
    const level = out[out.length - 1]!;
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
    out.push(next);
  }
  return out;
}

export function merkleRoot(leaves: readonly Hex[]): Hex {
  const all = levels(leaves);
  return all[all.length - 1]![0]!;
}

/** Sibling hashes from leaf `index` up to the root. */
export function merkleProof(leaves: readonly Hex[], index: number): Hex[] {
  const proof: Hex[] = [];
  let i = index;
  for (const level of levels(leaves).slice(0, -1)) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    i = Math.floor(i / 2);
  }
  return proof;
}

/** The root a leaf and its proof lead to (MerkleProof.processProof). */
export function processProof(leaf: Hex, proof: readonly Hex[]): Hex {
  return proof.reduce<Hex>((node, sibling) => hashPair(node, sibling), leaf);
}
