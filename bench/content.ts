// Content bench (`npm run bench -- content [--mib=256] [--cap=20]`): what `bcr client put` and `bcr
// client get` do on the client's side, measured. put: a file imported as a UnixFS DAG into a CAR and
// cut into piece-sized CAR shards (MB/s, peak RSS above the start: streamed, it must not grow with the
// file). get: the DAG fetched from trustless-gateway processes with every block verified and written
// to disk, from 1 and from 3 providers, each capped at a home uplink's rate (--cap MB/s, enforced by
// the gateway's upload pacer), and from 1 uncapped; with raw loopback TCP in the same run as reference.
import '../src/util/polyfills.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayBlockSource, packPath } from '../src/client/index.js';
import { exportTo, parseCid, planCarShards } from '../src/content/index.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const MiB = 1 << 20;
const GATEWAY = fileURLToPath(new URL('./gatewayServer.ts', import.meta.url));

/** Samples RSS while `fn` runs; returns its result and the peak above the RSS at the start (MiB). */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peakMiB: number; heldMiB: number; ms: number }> {
  global.gc?.();
  const held = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = process.memoryUsage().rss;
  const heldBase = held();
  let peak = base;
  let heldPeak = heldBase;
  // With --expose-gc (npm run bench passes it) garbage is collected before each sample: what is measured
  // is memory held, not garbage a lazy collector has not reached yet.
  const timer = setInterval(() => {
    global.gc?.();
    peak = Math.max(peak, process.memoryUsage().rss);
    heldPeak = Math.max(heldPeak, held());
  }, 500);
  const start = process.hrtime.bigint();
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peakMiB: (peak - base) / MiB, heldMiB: (heldPeak - heldBase) / MiB, ms: msSince(start) };
  } finally {
    clearInterval(timer);
  }
}

async function gatewayProcess(carPath: string, cap: number | null, children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', GATEWAY, carPath, ...(cap ? [String(cap)] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
}

async function rawTcpMBps(bytes: number): Promise<number> {
  const chunk = new Uint8Array(256 * 1024);
  const server = createServer(async (socket) => {
    for (let sent = 0; sent < bytes; sent += chunk.length) if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('data', () => {});
    socket.on('end', () => resolve());
  });
  server.close();
  return bytes / 1e6 / (msSince(start) / 1000);
}

export const contentBench: BenchArea = {
  name: 'content',
  async run(args) {
    const mib = Number(args.find((a) => a.startsWith('--mib='))?.slice(6) ?? 256);
    const capMBps = Number(args.find((a) => a.startsWith('--cap='))?.slice(6) ?? 20);
    const root = mkdtempSync(join(tmpdir(), 'bcr-bench-content-'));
    const children: ChildProcess[] = [];
    try {
      // The file, written in pieces (never whole in memory).
      const file = join(root, 'file.bin');
      const fd = openSync(file, 'w');
      for (let i = 0; i < mib; i++) writeSync(fd, randomBytes(MiB));
      closeSync(fd);
      const size = statSync(file).size;

      const put = await withPeakRss(async () => {
        const packed = await packPath(file);
        const shards = await planCarShards(packed.car, parseCid(packed.cid), MiB);
        return { packed, shards: shards.length };
      });
      const { packed } = put.result;
      const putMBps = size / 1e6 / (put.ms / 1000);
      const cid = parseCid(packed.cid);

      const fetchFrom = async (urls: string[], out: string) => {
        const source = new GatewayBlockSource(urls.map((url, i) => ({ name: `provider ${i + 1}`, url })));
        const run = await withPeakRss(() => exportTo(cid, source, out, { concurrency: 32 }));
        if (statSync(out).size !== size) throw new Error(`got ${statSync(out).size} bytes of ${size}`);
        rmSync(out);
        return { MBps: size / 1e6 / (run.ms / 1000), peakMiB: run.peakMiB, heldMiB: run.heldMiB, report: source.report() };
      };
      const cap = Math.round(capMBps * 1e6);
      const capped = [await gatewayProcess(packed.car, cap, children), await gatewayProcess(packed.car, cap, children), await gatewayProcess(packed.car, cap, children)];
      const uncapped = await gatewayProcess(packed.car, null, children);
      const one = await fetchFrom([capped[0]!], join(root, 'one.bin'));
      const three = await fetchFrom(capped, join(root, 'three.bin'));
      const fast = await fetchFrom([uncapped], join(root, 'fast.bin'));
      const raw = await rawTcpMBps(size);
      rmSync(packed.dir, { recursive: true, force: true });

      const spread = three.report.map((p) => p.blocks).join(' / ');
      const rows: BenchRow[] = [
        { name: `put, client side (${mib} MiB: DAG, CAR, ${put.result.shards} CAR shards)`, value: putMBps, unit: 'MB/s', note: `peak RSS +${put.peakMiB.toFixed(0)} MiB, JS heap+buffers +${put.heldMiB.toFixed(0)} MiB` },
        { name: `get, 1 provider capped at ${capMBps} MB/s`, value: one.MBps, unit: 'MB/s', note: `peak RSS +${one.peakMiB.toFixed(0)} MiB, JS heap+buffers +${one.heldMiB.toFixed(0)} MiB` },
        { name: `get, 3 providers capped at ${capMBps} MB/s each`, value: three.MBps, unit: 'MB/s', note: `blocks ${spread}; peak RSS +${three.peakMiB.toFixed(0)} MiB, JS heap+buffers +${three.heldMiB.toFixed(0)} MiB` },
        { name: '3 providers / 1 provider', value: three.MBps / one.MBps, unit: 'x', note: 'goal >= 2.5x' },
        { name: 'get, 1 provider uncapped (every block verified, written)', value: fast.MBps, unit: 'MB/s', note: `peak RSS +${fast.peakMiB.toFixed(0)} MiB, JS heap+buffers +${fast.heldMiB.toFixed(0)} MiB` },
        { name: 'raw loopback TCP, same bytes', value: raw, unit: 'MB/s', note: 'reference, same run' },
      ];
      return {
        rows,
        json: { fileMiB: mib, capMBps, putMBps, putPeakRssMiB: put.peakMiB, getOneCappedMBps: one.MBps, getThreeCappedMBps: three.MBps, speedup: three.MBps / one.MBps, getUncappedMBps: fast.MBps, getPeakRssMiB: Math.max(one.peakMiB, three.peakMiB, fast.peakMiB), getHeldMiB: Math.max(one.heldMiB, three.heldMiB, fast.heldMiB), putHeldMiB: put.heldMiB, rawTcpMBps: raw },
      };
    } finally {
      for (const child of children) child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  },
};
