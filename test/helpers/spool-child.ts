/**
 * Child process for the audit spool's crash test: appends audit rows through a spooled journal, a few
 * per event-loop turn, printing `ack <n>` once row n is acknowledged, until killed. argv: dataDir first-n
 */
import { AUDIT_SCHEMA } from '../../src/gatekeeper/audit/audit.js';
import { openJournal } from '../../src/gatekeeper/audit/journal.js';
import { openDb } from '../../src/records/db.js';

const dataDir = process.argv[2]!;
const db = await openDb({ dataDir });
await db.exec(AUDIT_SCHEMA);
const journal = await openJournal(db, { spoolDir: dataDir });
let i = Number(process.argv[3]);
const turn = () => {
  for (let k = 0; k < 8; k++) {
    const n = i++;
    const row = { recorded: new Date().toISOString(), patientKey: `p${n % 3}`, requester: '0xabc', event: JSON.stringify({ n, text: 'tab\there "quoted" \\ back' }), leaf: `leaf${n}` };
    void journal.appendAudit(row).then(() => process.stdout.write(`ack ${n}\n`));
  }
  setImmediate(turn);
};
turn();
