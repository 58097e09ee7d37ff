// Attestations end to end: a file attested twice, the second referring to the first, shown in order
// with its reference chain; `bcr attest verify` passes against the true header and fails when the
// node lies (a proxy in front of it tampers a proof, drops one, or the header is not the trusted one).
// A trusted header older than the node's finalized block still verifies, linked by the headers
// between; a forged link fails.
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, tempDir } from '../helpers/chain.js';
import { rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-attest-');
const keystore = join(dir.path, 'keystore');
const ENV = { BCR_PASSWORD: 'pw' };
const DEV = toChecksumAddress(addressOf(DEV_KEY));
let node: RunningNode;
let proxy: Server | null = null;

beforeAll(async () => {
  // A short finality: the trusted block soon falls below it (the node keeps no state there).
  const genesis = JSON.parse(readFileSync(new URL('../../genesis/test.json', import.meta.url), 'utf8')) as { params: { finality: number } };
  genesis.params.finality = 10;
  const genesisFile = join(dir.path, 'genesis.json');
  writeFileSync(genesisFile, JSON.stringify(genesis));
  node = await startNodeProcess(['--network', genesisFile, '--data-dir', join(dir.path, 'node'), '--rpc-port', '0']);
  writeFileSync(join(dir.path, 'dev.key'), toHex(DEV_KEY));
  expect((await runCli(['wallet', 'import', '--key-file', join(dir.path, 'dev.key'), '--keystore', keystore, '--light-kdf'], ENV)).code).toBe(0);
}, 60_000);

afterAll(async () => {
  proxy?.close();
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

interface TamperedResult {
  proofs: { value: string | null }[];
  header: string;
  headers: string[];
}

/** A node that lies: forwards every call, and rewrites the answers of `method` with `tamper`. */
async function lyingNode(tamper: (result: TamperedResult) => void, method = 'bcr_getAttestations'): Promise<string> {
  proxy?.close();
  proxy = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', async () => {
      const upstream = await fetch(node.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = (await upstream.json()) as { result?: TamperedResult };
      if ((JSON.parse(body) as { method: string }).method === method && answer.result) tamper(answer.result);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(proxy.address() as { port: number }).port}/`;
}

describe('attestations (CLI)', () => {
  it('records a file twice with a reference, shows them in order, and verifies them without trusting the node', async () => {
    const file = join(dir.path, 'certificate.pdf');
    writeFileSync(file, 'lot 42: 1,000 kg of green coffee, harvested 2026-10-01');
    const attest = async (args: string[]) => {
      const result = await runCli(['attest', file, '--from', DEV, '--rpc', node.rpcUrl, '--keystore', keystore, '--json', ...args], ENV);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { id: string; hash: string; height: number };
    };
    const first = await attest(['--tag', 'harvest/v1', '--meta', 'farm 7, lot 42']);
    const second = await attest(['--tag', 'shipment/v1', '--ref', first.id]);
    expect(second.hash).toBe(first.hash);
    const noRef = await runCli(['attest', file, '--from', DEV, '--tag', 'x', '--ref', `0x${'ab'.repeat(32)}`, '--rpc', node.rpcUrl, '--keystore', keystore], ENV);
    expect(noRef.code).toBe(1);
    expect(noRef.stderr).toMatch(/REF_NOT_FOUND/);

    const shown = JSON.parse((await runCli(['attest', 'show', file, '--rpc', node.rpcUrl, '--json'])).stdout) as { attestations: { id: string; tag: string; metaText: string | null; attester: string; refChain: { id: string }[] }[] };
    expect(shown.attestations.map((a) => [a.id, a.tag])).toEqual([[first.id, 'harvest/v1'], [second.id, 'shipment/v1']]);
    expect(shown.attestations[0]).toMatchObject({ metaText: 'farm 7, lot 42', attester: DEV, refChain: [] });
    expect(shown.attestations[1]!.refChain.map((a) => a.id)).toEqual([first.id]);
    const human = await runCli(['attest', 'show', first.hash, '--rpc', node.rpcUrl]);
    expect(human.stdout).toMatch(/2 attestation\(s\)[\s\S]*1\. 0x[0-9a-f]{64}  harvest\/v1[\s\S]*2\. 0x[0-9a-f]{64}  shipment\/v1[\s\S]*<- 0x/);

    // The header the user trusts: a block past the second record (here read from the node, as the
    // user would from several sources).
    await waitFor('a block after the records', async () => (await rpc<{ height: number }>(node.rpcUrl, 'bcr_chainHead')).height > second.height, 20_000);
    const trusted = await rpc<{ height: number; id: string }>(node.rpcUrl, 'bcr_getBlockByHeight', [second.height + 1]);
    const verify = (rpcUrl: string, header = `${trusted.height}:${trusted.id}`) => runCli(['attest', 'verify', file, '--trusted-header', header, '--rpc', rpcUrl]);
    const ok = await verify(node.rpcUrl);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^VERIFIED against block ${trusted.height} .*: 2 attestation\\(s\\)`));
    expect(ok.stdout).toContain(first.id);
    expect(ok.stdout).toContain(second.id);

    // A header that is not the trusted one.
    const otherBlock = await rpc<{ id: string }>(node.rpcUrl, 'bcr_getBlockByHeight', [trusted.height - 1]);
    const wrongHeader = await verify(node.rpcUrl, `${trusted.height}:${otherBlock.id}`);
    expect(wrongHeader.code).toBe(1);
    expect(wrongHeader.stderr).toMatch(/NOT VERIFIED: the node's header for height \d+ is not block/);

    // Lies: a record's value changed, a record's proof left out, the header swapped.
    const forged = await verify(await lyingNode((r) => {
      const last = r.proofs.at(-1)!;
      last.value = last.value!.slice(0, -2) + (last.value!.endsWith('00') ? '01' : '00');
    }));
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/NOT VERIFIED: the proof of state key 0x[0-9a-f]+ does not verify/);
    const dropped = await verify(await lyingNode((r) => void r.proofs.pop()));
    expect(dropped.code).toBe(1);
    expect(dropped.stderr).toMatch(/NOT VERIFIED: no proof for state key/);
    const swapped = await verify(await lyingNode((r) => (r.header = r.header.slice(0, -2) + (r.header.endsWith('00') ? '01' : '00'))));
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toMatch(/NOT VERIFIED: the node's header/);

    // Later: the trusted block is well below the node's finalized block, where it keeps no state.
    // Verify proves at the finalized block and links it to the trusted one header by header.
    await waitFor('the trusted block deep below finality', async () => (await rpc<{ finalizedHeight: number }>(node.rpcUrl, 'bcr_chainHead')).finalizedHeight > trusted.height + 5, 60_000, 250);
    const old = await verify(node.rpcUrl);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toMatch(new RegExp(`^VERIFIED against block ${trusted.height} \\(${trusted.id}, linked by \\d+ header\\(s\\) to block \\d+, .*\\): 2 attestation\\(s\\)`));
    // A forged link (a header between changed): caught, whatever the node's proofs say.
    const forgedLink = await verify(await lyingNode((r) => {
      const i = Math.floor(r.headers.length / 2);
      r.headers[i] = r.headers[i]!.slice(0, -2) + (r.headers[i]!.endsWith('00') ? '01' : '00');
    }, 'bcr_getHeaders'));
    expect(forgedLink.code).toBe(1);
    expect(forgedLink.stderr).toMatch(/NOT VERIFIED: the header at height \d+ does not (link to the one before|decode)/);
  }, 120_000);
});
