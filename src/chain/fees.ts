/** The fee fields of the transactions this project signs (write.ts, and the outbox when it signs again). */
import type { PublicClient } from 'viem';

/**
 * The fee fields for a transaction in a block whose base fee is `baseFeePerGas`: EIP-1559 with room
 * for the base fee to double and a tip of 1 wei, which every dev node mines; on a free-gas network
 * (base fee 0, e.g. Besu with `zeroBaseFee` and `min-gas-price=0`, deploy/besu) nothing at all, so
 * accounts there need no ether; legacy gas price on a chain without EIP-1559.
 *
 * Room for one doubling is not room for a rollback: after a node loses k blocks of falling base
 * fees (each nearly empty block lowers it by 1/8, EIP-1559), the base fee is back up by (8/7)^k, and
 * from k = 6 on a transaction signed with these fees is refused when sent again. The outbox signs it
 * again then (outbox-deliver.ts).
 */
export async function feesFor(publicClient: Pick<PublicClient, 'getGasPrice'>, baseFeePerGas: bigint | null | undefined) {
  if (baseFeePerGas == null) return { type: 'legacy' as const, gasPrice: await publicClient.getGasPrice() };
  if (baseFeePerGas === 0n) return { type: 'eip1559' as const, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n };
  return { type: 'eip1559' as const, maxFeePerGas: baseFeePerGas * 2n + 1n, maxPriorityFeePerGas: 1n };
}
