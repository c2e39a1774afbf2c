/**
 * Child process for the crash test: syncs a watcher one block per transaction, printing the block
 * after each, until killed. argv: rpcUrl contract deployBlock user dataDir
 */
import { createLedgerClient } from '../../src/chain/client.js';
import { createWatcher } from '../../src/client/watcher.js';
import { openDb } from '../../src/records/db.js';

const [rpcUrl, contract, deployBlock, chainId, user, dataDir] = process.argv.slice(2) as [string, `0x${string}`, string, string, `0x${string}`, string];
const ledger = createLedgerClient({ rpcUrl, contract, deployBlock: BigInt(deployBlock), chainId: Number(chainId) });
const db = await openDb({ dataDir });
const watcher = createWatcher({ ledger, db, user, chunkBlocks: 1 });
await watcher.init();
watcher.onNotification((n) => process.stdout.write(`note ${n.blockNumber}\n`));
const r = await watcher.sync();
process.stdout.write(`done ${r.block}\n`);
await db.close();
