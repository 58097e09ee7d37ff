// Genesis miners' secrets: a mainnet VRF key must not be derivable from anything public (the genesis
// file, its seeds, the repository's development keys); `bcr genesis preseal` makes such keys into
// a keystore, and a node refuses to start a mainnet genesis that uses a well-known key.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WELL_KNOWN_DEV_ADDRESSES, assertNoWellKnownKeys, devVrfSecret, parseGenesis, readGenesisJson } from '../../src/chain/index.js';
import { vrfPublicKey } from '../../src/consensus/index.js';
import { bytesEqual, fromHex, sha256, toHex, utf8 } from '../../src/primitives/index.js';
import { unlockKeystore } from '../../src/wallet/index.js';
import { tempDir } from '../helpers/chain.js';
import { runCli } from '../helpers/process.js';

/** Every string in a JSON document. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** VRF public keys anyone could compute from a document's strings and the repository's dev keys. */
function derivableKeys(texts: string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const text of texts) {
    out.push(vrfPublicKey(devVrfSecret(text)), vrfPublicKey(sha256(utf8(text))));
    if (/^0x[0-9a-fA-F]{64}$/.test(text)) out.push(vrfPublicKey(fromHex(text)));
  }
  return out;
}

const REPO_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
];

describe('genesis miner keys', () => {
  it('mainnet.json holds no miner whose VRF or signing key anyone can compute', () => {
    const json = readGenesisJson('mainnet');
    const genesis = parseGenesis(json, 0);
    const derivable = derivableKeys([...strings(json), ...REPO_KEYS]);
    for (const miner of genesis.miners) {
      expect(derivable.some((k) => bytesEqual(k, miner.vrfKey))).toBe(false);
    }
    expect(() => assertNoWellKnownKeys(genesis)).not.toThrow();
  });

  it('preseal writes a fresh secret VRF key (and a new worker key) into the keystore, never one derivable from the entry', async () => {
    const dir = tempDir('bcr-preseal-');
    try {
      const keystore = join(dir.path, 'keys');
      const run = async () => {
        const result = await runCli(['genesis', 'preseal', '--network', 'mainnet', '--seed', 'same-seed', '--sectors', '0', '--miner-id', '1', '--owner', '0x000000000000000000000000000000000000dEaD', '--keystore', keystore, '--light-kdf'], { BCR_PASSWORD: 'pw' });
        expect(result.code, result.stderr).toBe(0);
        return JSON.parse(result.stdout) as { vrfKey: string; worker: string; seed: string };
      };
      const [a, b] = [await run(), await run()];
      expect(a.vrfKey).not.toBe(b.vrfKey); // a fresh secret each time, whatever the seed
      for (const entry of [a, b]) {
        const vrfKey = fromHex(entry.vrfKey);
        expect(derivableKeys([...strings(entry), ...REPO_KEYS]).some((k) => bytesEqual(k, vrfKey))).toBe(false);
        expect(WELL_KNOWN_DEV_ADDRESSES).not.toContain(entry.worker);
        const secret = unlockKeystore(join(keystore, `vrf--${entry.vrfKey.slice(2)}.json`), 'pw');
        expect(toHex(vrfPublicKey(secret))).toBe(entry.vrfKey);
        expect(readFileSync(join(keystore, `vrf--${entry.vrfKey.slice(2)}.json`), 'utf8')).not.toContain(toHex(secret).slice(2));
      }
      const dev = await runCli(['genesis', 'preseal', '--network', 'mainnet', '--seed', 's', '--sectors', '0', '--miner-id', '1', '--owner', '0x000000000000000000000000000000000000dEaD', '--dev-vrf-key', '--worker', '0x000000000000000000000000000000000000bEEF']);
      expect(dev.code).not.toBe(0);
      expect(dev.stderr).toMatch(/devnet and test only/);
    } finally {
      dir.cleanup();
    }
  }, 60_000);

  it('a node refuses to start a mainnet genesis whose miner uses a development key', async () => {
    const dir = tempDir('bcr-wellknown-');
    try {
      const json = readGenesisJson('mainnet') as { genesisTime: unknown; miners: unknown[] };
      json.genesisTime = 1_800_000_000_000;
      json.miners = [{ owner: '0x000000000000000000000000000000000000dEaD', worker: '0x000000000000000000000000000000000000bEEF', vrfKey: toHex(vrfPublicKey(devVrfSecret('public seed'))), seed: 'public seed', sectors: [] }];
      expect(() => assertNoWellKnownKeys(parseGenesis(json))).toThrow(/development VRF key/);
      const file = join(dir.path, 'mainnet-bad.json');
      writeFileSync(file, JSON.stringify(json));
      const node = await runCli(['node', '--network', file, '--data-dir', join(dir.path, 'data'), '--rpc-port', '0', '--no-mine']);
      expect(node.code).not.toBe(0);
      expect(node.stdout + node.stderr).toMatch(/WELL_KNOWN_KEY|development VRF key/);
    } finally {
      dir.cleanup();
    }
  }, 60_000);
});
