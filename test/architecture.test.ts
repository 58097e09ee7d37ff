// The module map of README "Layout", enforced: each folder of src/ imports only the
// folders its arrows allow (the composition root, node.ts and devnet.ts, and cli/ may import all).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

const ALLOWED: Record<string, string[]> = {
  primitives: [],
  util: [],
  // Components take `metrics | null`; metrics knows none of them.
  metrics: ['util'],
  proofs: ['primitives', 'util'],
  consensus: ['primitives', 'proofs', 'util'],
  state: ['primitives', 'proofs', 'consensus', 'util'],
  db: ['primitives', 'util'],
  // CIDs, CAR and UnixFS: pure content addressing, no chain.
  content: ['primitives', 'util'],
  // The IPFS trustless gateway: HTTP over content.
  gateway: ['content', 'metrics', 'primitives', 'util'],
  chain: ['metrics', 'state', 'consensus', 'proofs', 'db', 'primitives', 'util'],
  mempool: ['metrics', 'state', 'consensus', 'primitives', 'util'],
  wallet: ['primitives', 'util'],
  // The flood scenario runs the node's own mempool against the state machine.
  sim: ['consensus', 'state', 'proofs', 'mempool', 'primitives', 'util'],
  // p2p maps chain, mempool and tx (state) errors to gossip verdicts.
  p2p: ['metrics', 'chain', 'mempool', 'state', 'primitives', 'util'],
  sync: ['metrics', 'chain', 'p2p', 'primitives', 'util'],
  miner: ['metrics', 'chain', 'consensus', 'content', 'proofs', 'mempool', 'state', 'primitives', 'util'],
  cluster: ['miner', 'proofs', 'primitives', 'util'],
  market: ['metrics', 'chain', 'proofs', 'p2p', 'state', 'primitives', 'util'],
  // The client library: what wallets and apps call to store and fetch (the CLI wraps it).
  client: ['content', 'market', 'p2p', 'proofs', 'state', 'wallet', 'primitives', 'util'],
  // rpc describes the parts it serves; it never reaches into their internals.
  rpc: ['metrics', 'chain', 'mempool', 'state', 'consensus', 'proofs', 'primitives', 'util', 'miner', 'p2p', 'sync', 'market', 'wallet', 'version'],
  // Top-level files obey the map too: only the composition root (and the devnet builder that starts
  // nodes) may import every part; a new top-level file must be placed here.
  'node.ts': ['*'],
  // The composition root's parts (chain, network, market, RPC), started and closed by node.ts.
  node: ['*'],
  'devnet.ts': ['chain', 'consensus', 'primitives', 'proofs', 'util', 'node'],
  'nodeMetrics.ts': ['chain', 'db', 'market', 'mempool', 'metrics', 'miner', 'p2p', 'proofs', 'rpc', 'state', 'sync'],
  'version.ts': [],
  // Declarations for packages that ship none.
  types: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function topFolder(path: string): string {
  return relative(SRC, path).split(sep)[0]!;
}

describe('module map', () => {
  it('src/ folders import only along the allowed arrows', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = topFolder(file);
      if (from === 'cli') continue; // the commands: the top, thin over the parts
      const allowed = ALLOWED[from];
      if (!allowed) {
        violations.push(`${relative(SRC, file)} is not on the module map`);
        continue;
      }
      if (allowed.includes('*')) continue;
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = resolve(dirname(file), spec!);
        const to = topFolder(target);
        if (to !== from && !allowed.includes(to.replace(/\.(js|ts)$/, ''))) violations.push(`${relative(SRC, file)} -> ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
