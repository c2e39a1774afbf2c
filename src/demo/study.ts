/**
 * The demo's research study (issue 16 §2): Carol, the demo researcher, sponsors a heart-disease risk
 * study over the demo hospitals; Alice has joined it and Bob has not, so the patient's inbox and the
 * researcher's view show something real after `npm start`. Registered on chain by Carol's key and
 * joined by Alice's (each their own transaction, as in the manager), once per data directory: a second
 * start finds the study on chain and changes nothing (so a patient's later withdrawal stands). The definition derives from the demo's fixed "today"
 * only, so every start of a data directory gets the same study hash.
 */
import type { Address, Hex } from 'viem';
import type { ChainRuntime } from '../chain/runtime.js';
import { createLedgerClient } from '../chain/client.js';
import { unlockUser, loadUsers } from '../keys/users.js';
import { heartStudyDefinition } from '../ml/research/heart-study.js';
import { studyHash, type StudyDefinition } from '../protocol/research/study.js';
import { enrollInStudy, isEnrolled, registerStudy, studyIdOf, studyOf } from '../sdk/studies.js';
import { YEAR } from './clock.js';

/** Who takes part in the demo study (Bob is asked and has not answered). */
export const DEMO_STUDY_SPONSOR = 'carol';
export const DEMO_STUDY_PARTICIPANTS = ['alice'] as const;

/** The demo study, sponsored by `sponsor`, open for a year from the demo's `now`: the heart study with the bench's parameters (src/ml/research/heart-study.ts). */
export function demoStudy(sponsor: Address, now: string): StudyDefinition {
  return heartStudyDefinition({ sponsor: { name: 'Carol, cardiology research', address: sponsor }, expiresAt: new Date(Date.parse(now) + YEAR).toISOString() });
}

/**
 * Registers the demo study (as Carol) and enrols the demo participants (each with their own key) when
 * the study is not on chain yet. Returns the definition for the manager's catalogue.
 */
export async function seedDemoStudy(runtime: ChainRuntime, dataDir: string, now: string, log: (line: string) => void): Promise<{ definition: StudyDefinition; hash: Hex; studyId: Hex }> {
  const users = loadUsers(dataDir);
  const sponsor = users.find((u) => u.name === DEMO_STUDY_SPONSOR);
  if (!sponsor) throw new Error(`the demo study's sponsor ${DEMO_STUDY_SPONSOR} is not a user of this data directory`);
  const client = (name: string) => createLedgerClient(runtime.deployment, { account: unlockUser(dataDir, name), pollingIntervalMs: 20 });
  const definition = demoStudy(sponsor.address, now);
  const hash = studyHash(definition);
  const studyId = studyIdOf(sponsor.address, hash);
  const reader = createLedgerClient(runtime.deployment, { pollingIntervalMs: 20 });
  // Once: after that the choices are the patients' own (a withdrawal must survive a restart).
  if (await studyOf(reader, studyId)) return { definition, hash, studyId };
  await registerStudy(client(sponsor.name), definition);
  log(`${sponsor.name} registered the demo study "${definition.title}"`);
  for (const name of DEMO_STUDY_PARTICIPANTS) {
    const patient = users.find((u) => u.name === name);
    if (!patient || (await isEnrolled(reader, studyId, patient.address))) continue;
    await enrollInStudy(client(name), studyId);
    log(`${name} joined the demo study`);
  }
  return { definition, hash, studyId };
}
