/**
 * The consent set of a trained model: which patients' records it was trained on, as one hash to
 * record with the model (and on chain). Patients are named by their MedLedger addresses.
 *
 * consentSetHash = keccak256(abi.encode(address[] sorted ascending)), duplicates removed: the
 * same value Solidity computes with `keccak256(abi.encode(addresses))`, so a contract can check it,
 * and independent of the order or case the addresses came in.
 */
import { encodeAbiParameters, getAddress, isAddress, keccak256, type Address, type Hex } from 'viem';

export function consentSetHash(patientAddresses: readonly string[]): Hex {
  const unique = new Set<string>();
  for (const a of patientAddresses) {
    if (!isAddress(a, { strict: false })) throw new Error(`consentSetHash: not an address: ${JSON.stringify(a)}`);
    unique.add(a.toLowerCase());
  }
  const sorted = [...unique].sort().map((a) => getAddress(a) as Address);
  return keccak256(encodeAbiParameters([{ type: 'address[]' }], [sorted]));
}
