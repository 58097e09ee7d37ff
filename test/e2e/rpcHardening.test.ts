// The RPC port against hostile clients, on a real node process: huge or exact-looking numbers,
// oversized batches, bodies that stop mid-upload, slow senders, malformed WebSocket frames,
// cross-site pages (content types, Origins, Host names) and tokens without expiry. After every
// attack the node must still answer.
import { connect, type Socket } from 'node:net';
import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createToken, readSecret } from '../../src/rpc/auth.js';
import { tempDir } from '../helpers/chain.js';
import { rawPost, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-rpc-hard-');
const ALLOWED = 'http://wallet.example';
let node: RunningNode;
let port: number;
let admin: Record<string, string>;

beforeAll(async () => {
  node = await startNodeProcess(['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0', '--no-mine', '--rpc-cors', ALLOWED, '--ws-origins', ALLOWED]);
  port = Number(new URL(node.rpcUrl).port);
  admin = { authorization: `Bearer ${await createToken(readSecret(dir.path), 'admin')}` };
});
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const call = async (method: string, params: unknown[], headers: Record<string, string> = {}) => JSON.parse((await rawPost(node.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), headers)).text) as { result?: unknown; error?: { code: number; message: string } };

async function stillServing(): Promise<void> {
  expect(node.process.exitCode).toBeNull();
  expect(await rpc<{ height: number }>(node.rpcUrl, 'bcr_chainHead')).toMatchObject({ height: 0 });
}

/** A raw TCP connection to the RPC port; resolves `closed` when the server ends it. */
function rawSocket(): Promise<{ socket: Socket; closed: Promise<void>; received: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed, received: () => text }));
    socket.once('error', reject);
  });
}

describe('JSON-RPC numbers and work limits', () => {
  it('refuses block numbers past the head or past 2^53, and non-integers, with -32602', async () => {
    for (const params of [[1, '0x20000000000000'], [1, '0x5'], ['1.5', 'latest'], [1.5, 'latest'], ['0x10000000000000000', 'latest']]) {
      expect((await call('eth_feeHistory', params)).error?.code, JSON.stringify(params)).toBe(-32602);
    }
    expect((await call('eth_getBlockByNumber', ['0x10000000000000000', false])).error?.code).toBe(-32602);
    expect((await call('bcr_getBlockByHeight', ['18446744073709551616'])).error?.code).toBe(-32602);
    expect((await call('eth_getBlockByNumber', ['0x5', false])).result).toBeNull();
    expect((await call('eth_feeHistory', [4, 'latest', [10, 50]])).result).toMatchObject({ oldestBlock: '0x0', gasUsedRatio: [0] });
    await stillServing();
  });

  it('caps reward percentiles, and the work and size of one request and of a batch', async () => {
    expect((await call('eth_feeHistory', [1, 'latest', Array.from({ length: 101 }, () => 50)])).error?.code).toBe(-32602);
    const huge = await call('eth_feeHistory', [1, 'latest', Array.from({ length: 500_000 }, () => 50)]);
    expect(huge.error?.code).toBe(-32602);
    expect((await call('eth_feeHistory', [1, 'latest', [50, 10]])).error?.message).toMatch(/decrease/);
    const started = Date.now();
    const batch = Array.from({ length: 1000 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'bcr_feeHistory', params: [1024] }));
    const answers = JSON.parse((await rawPost(node.rpcUrl, JSON.stringify(batch))).text) as { id: number; result?: unknown; error?: { code: number } }[];
    expect(answers).toHaveLength(1000);
    expect(answers.filter((a) => a.result !== undefined)).toHaveLength(10);
    expect(answers.filter((a) => a.error?.code === -32005)).toHaveLength(990);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await call('bcr_sendTransaction', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', (1n << 256n).toString()], admin)).error?.code).toBe(-32602);
    await stillServing();
  });
});

describe('HTTP clients that misbehave', () => {
  it('survives bodies that stop mid-upload', async () => {
    for (let i = 0; i < 20; i++) {
      const { socket } = await rawSocket();
      socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":"2.0","id":1,`);
      await new Promise((r) => setImmediate(r));
      socket.destroy();
    }
    await stillServing();
  });

  it('caps connections per address and closes slow senders after the body timeout', async () => {
    const started = Date.now();
    const drips = await Promise.all(Array.from({ length: 80 }, () => rawSocket()));
    let closedCount = 0;
    for (const d of drips) {
      void d.closed.then(() => closedCount++);
      d.socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    }
    // Past the per-address cap (64) connections are closed at once; the rest when their 10 s are up.
    await waitFor('connections over the cap to be closed', async () => closedCount >= 16, 5_000, 50);
    await Promise.all(drips.map((d) => d.closed));
    expect(Date.now() - started).toBeLessThan(25_000); // Node's own default would hold them 300 s
    await stillServing();
  }, 40_000);
});

describe('cross-site requests', () => {
  it('refuses bodies that are not JSON, foreign Origins and malformed Host headers', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_chainHead' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expect((await rawPost(node.rpcUrl, body, { 'content-type': type })).status, type).toBe(415);
    }
    expect((await rawPost(node.rpcUrl, body, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await rawPost(node.rpcUrl, body, { origin: ALLOWED })).status).toBe(200);
    for (const host of ['[::1]evil.example', 'localhost:evil.example', 'evil.example', '127.0.0.1:99999']) {
      expect((await rawPost(node.rpcUrl, body, { host })).status, host).toBe(403);
    }
    expect((await rawPost(node.rpcUrl, body, { host: `localhost:${port}` })).status).toBe(200);
    expect((await rawPost(node.rpcUrl, body, { host: `[::1]:${port}` })).status).toBe(200);
  });

  it('opens WebSockets only for tools (no Origin), allowed origins and the node itself', async () => {
    const url = node.rpcUrl.replace('http', 'ws');
    const open = (origin?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, origin ? { origin } : {});
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
    expect(await open()).toBe(101);
    expect(await open(ALLOWED)).toBe(101);
    expect(await open(`http://127.0.0.1:${port}`)).toBe(101);
    expect(await open('http://evil.example')).toBe(403);
    expect(await open('null')).toBe(403);
  });
});

/** One WebSocket frame; masked unless told otherwise (clients must mask). */
function frame(first: number, payload: Uint8Array, options: { mask?: boolean; length?: bigint } = {}): Buffer {
  const mask = options.mask ?? true;
  const length = options.length ?? BigInt(payload.length);
  const head: number[] = [first];
  if (length < 126n) head.push((mask ? 0x80 : 0) | Number(length));
  else if (length < 65536n) head.push((mask ? 0x80 : 0) | 126, Number(length >> 8n), Number(length & 0xffn));
  else {
    head.push((mask ? 0x80 : 0) | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((length >> BigInt(8 * i)) & 0xffn));
  }
  const key = [1, 2, 3, 4];
  const body = mask ? payload.map((b, i) => b ^ key[i % 4]!) : payload;
  return Buffer.concat([Buffer.from(head), mask ? Buffer.from(key) : Buffer.alloc(0), Buffer.from(body)]);
}

describe('malformed WebSocket frames', () => {
  const text = new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"bcr_chainHead"}');
  const cases: [string, Buffer][] = [
    ['unmasked', frame(0x81, text, { mask: false })],
    ['RSV1 without an extension', frame(0xc1, text)],
    ['reserved opcode 3', frame(0x83, text)],
    ['invalid UTF-8', frame(0x81, new Uint8Array([0xff, 0xfe, 0xfd]))],
    ['oversized ping', frame(0x89, new Uint8Array(200))],
    ['fragmented control frame', frame(0x09, new Uint8Array(4))],
    ['orphan continuation', frame(0x80, text)],
    ['close code 999', frame(0x88, new Uint8Array([0x03, 0xe7]))],
    ['2^63 length', frame(0x81, new Uint8Array(0), { length: 1n << 63n })],
    ['6 MiB length', frame(0x81, new Uint8Array(0), { length: 6n << 20n })],
  ];
  it.each(cases)('a %s frame ends only that connection', async (_name, bytes) => {
    const { socket, closed, received } = await rawSocket();
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await waitFor('the upgrade', async () => received().includes('101 Switching Protocols'), 5_000, 20);
    socket.write(bytes);
    await closed;
    await stillServing();
  });
});

describe('tokens', () => {
  it('expire, and a token without expiry works only when made long-lived on purpose', async () => {
    const secret = readSecret(dir.path);
    const seal = (token: string) => rawPost(node.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_minerSeal', params: [1] }), { authorization: `Bearer ${token}` });
    const noExp = await new SignJWT({ perms: ['read', 'write', 'sign', 'admin'] }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(secret);
    expect((await seal(noExp)).status).toBe(401);
    const expired = await new SignJWT({ perms: ['read', 'write', 'sign', 'admin'] }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(secret);
    expect((await seal(expired)).status).toBe(401);
    expect(JSON.parse((await seal(await createToken(secret, 'admin', { longLived: true }))).text).error.code).toBe(-32001); // admin passed: no miner here
    const cli = await runCli(['auth', 'create-token', '--perm', 'admin', '--expires', '1h', '--data-dir', dir.path]);
    const claims = decodeJwt(cli.stdout.trim());
    expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);
    expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(3600);
    const bad = await runCli(['auth', 'create-token', '--perm', 'admin', '--expires', 'soon', '--data-dir', dir.path]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--expires/);
  });
});
