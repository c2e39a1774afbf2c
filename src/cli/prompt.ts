/** Asks for a password on the terminal without echoing it; undefined when there is no terminal to ask. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

export async function askPassword(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  process.stderr.write(question);
  // Typed characters go to a muted stream, so the password never shows on screen.
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
