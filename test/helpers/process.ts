// Starting `bcr` as a real process and talking to it over JSON-RPC, as a user would.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface RunningNode {
  process: ChildProcessWithoutNullStreams;
  rpcUrl: string;
  logs: string[];
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs `bcr` and SIGKILLs it `afterMs` after `trigger` (given its stderr so far) holds; `killed` says whether it came to that. */
export function runCliKilled(args: string[], env: Record<string, string>, trigger: (stderr: string) => boolean, afterMs = 0, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const watch = setInterval(() => {
      if (!trigger(stderr)) return;
      clearInterval(watch);
      setTimeout(() => (killed = child.exitCode === null && child.kill(signal)), afterMs);
    }, 5);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(watch);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/** Starts `bcr node` and resolves once its JSON-RPC address is logged. */
export function startNodeProcess(args: string[], timeoutMs = 20_000, env: Record<string, string> = {}): Promise<RunningNode> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'node', ...args], { env: { ...process.env, ...env } });
    const logs: string[] = [];
    // BCR_TEST_LOGS=<dir>: every node's output also goes to <dir>/node-<pid>.log, to read after a failure.
    const logDir = process.env.BCR_TEST_LOGS;
    if (logDir) mkdirSync(logDir, { recursive: true });
    const keep = (line: string) => {
      logs.push(line);
      if (logDir) appendFileSync(join(logDir, `node-${child.pid}.log`), `${line}\n`);
    };
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node did not start in ${timeoutMs} ms:\n${logs.join('\n')}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        keep(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'JSON-RPC listening' && entry.url) {
            clearTimeout(timer);
            resolve({ process: child, rpcUrl: entry.url, logs });
          }
        } catch {
          // not a log line
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => keep(d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}

export async function stopProcess(node: RunningNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return node.process.exitCode;
  node.process.removeAllListeners('exit');
  return new Promise((resolve) => {
    node.process.once('exit', (code) => resolve(code));
    node.process.kill(signal);
  });
}

/** A raw POST with full control of headers (fetch forbids setting Host). */
export function rawPost(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Any method, no body: for CORS preflights. */
export function rawRequest(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

let nextId = 1;
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }) });
  const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw Object.assign(new Error(`${method}: ${body.error.message}`), { rpcCode: body.error.code });
  return body.result as T;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The first libp2p address a node logged ("P2P listening"). */
export function p2pAddress(node: RunningNode): string {
  for (const line of node.logs) {
    try {
      const entry = JSON.parse(line) as { msg?: string; addresses?: string[] };
      if (entry.msg === 'P2P listening' && entry.addresses?.length) return entry.addresses[0]!;
    } catch {
      // not JSON
    }
  }
  throw new Error('no P2P address logged');
}

/** Parsed JSON log lines of a node with the given message. */
export function logEntries<T = Record<string, unknown>>(node: RunningNode, msg: string): T[] {
  const out: T[] = [];
  for (const line of node.logs) {
    try {
      const entry = JSON.parse(line) as { msg?: string };
      if (entry.msg === msg) out.push(entry as T);
    } catch {
      // not JSON
    }
  }
  return out;
}

export const balanceOf = async (node: RunningNode, address: string) => BigInt((await rpc<{ balance: string }>(node.rpcUrl, 'bcr_getBalance', [address])).balance);
export const feeOf = async (node: RunningNode, tx: string) => BigInt((await rpc<{ fee: string }>(node.rpcUrl, 'bcr_getTransactionReceipt', [tx])).fee);

/** A balance together with the head it was read at (read again when a block landed in between). */
export async function balanceAt(node: RunningNode, address: string): Promise<{ height: number; balance: bigint }> {
  for (;;) {
    const head = await rpc<{ id: string; height: number }>(node.rpcUrl, 'bcr_chainHead');
    const balance = await balanceOf(node, address);
    if ((await rpc<{ id: string }>(node.rpcUrl, 'bcr_chainHead')).id === head.id) return { height: head.height, balance };
  }
}

/**
 * How an owner's balance moved through blocks (from, to] besides transfers: the rewards of its
 * miner's blocks (issuance and fees) less the fees of the txs it signed (it is also the worker here:
 * WindowPoSts, recoveries).
 */
export async function ownerFlows(node: RunningNode, miner: number, owner: string, from: number, to: number): Promise<bigint> {
  let sum = 0n;
  for (let h = from + 1; h <= to; h++) {
    const block = await rpc<{ miner: number; reward: string; txs: { id: string; from: string }[] }>(node.rpcUrl, 'bcr_getBlockByHeight', [h, true]);
    if (block.miner === miner) sum += BigInt(block.reward);
    for (const tx of block.txs) if (tx.from.toLowerCase() === owner.toLowerCase()) sum -= await feeOf(node, tx.id);
  }
  return sum;
}
