// CLI helpers: one-line errors for user mistakes, passwords from file/env/prompt, JSON output.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BcrError } from '../primitives/errors.js';

export class UsageError extends BcrError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

/** Password from --password-file, then BCR_PASSWORD, then an interactive prompt (TTY only). */
export async function readPassword(passwordFile: string | undefined, prompt: string): Promise<string> {
  if (passwordFile) return readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
  if (process.env.BCR_PASSWORD !== undefined) return process.env.BCR_PASSWORD;
  if (!process.stdin.isTTY) throw new UsageError('no password: pass --password-file FILE or set BCR_PASSWORD');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlWithOutput = rl as unknown as { _writeToOutput: (s: string) => void };
  let muted = false;
  rlWithOutput._writeToOutput = (s: string) => {
    if (!muted) process.stderr.write(s);
  };
  const answer = await new Promise<string>((resolve) => {
    rl.question(prompt, resolve);
    muted = true;
  });
  rl.close();
  process.stderr.write('\n');
  return answer;
}

export function parseIntOption(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a non-negative integer, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} is too large`);
  return n;
}

/** A whole number of atto (decimal, below 2^256). */
export function parseAttoOption(text: string, name: string): bigint {
  if (!/^\d{1,78}$/.test(text) || BigInt(text) >= 1n << 256n) throw new UsageError(`${name} must be a whole number of atto, got "${text}"`);
  return BigInt(text);
}

/** A --cluster database URL, checked before anything starts. */
export function clusterUrl(text: string): string {
  if (!/^postgres(ql)?:\/\/\S+$/.test(text)) throw new UsageError(`--cluster: expected a PostgreSQL URL (postgres://user@host:port/db), got ${JSON.stringify(text)}`);
  return text;
}
