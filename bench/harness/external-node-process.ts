/**
 * Child process of startExternalNodeProcess (external-node.ts): starts the external node (anvil with
 * `argv[2]`-second blocks behind the eth_-only RPC), prints `{"rpcUrl"}` as a line on stdout, and when
 * its stdin ends closes it and prints `{"refused"}` (the methods it answered "method not found").
 */
import { startExternalNode } from './external-node.js';

const node = await startExternalNode({ blockTime: Number(process.argv[2] ?? 2) });
process.stdout.write(`${JSON.stringify({ rpcUrl: node.rpcUrl })}\n`);
process.stdin.resume();
process.stdin.once('end', () => {
  void node.close().finally(() => {
    process.stdout.write(`${JSON.stringify({ refused: Object.fromEntries(node.refused) })}\n`);
    process.exit(0);
  });
});
