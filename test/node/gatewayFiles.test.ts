// The gateway's erasure-coded files across a restart, without a network: a file already rebuilt is
// served at once from its CAR (every block as stored, checkable against its CID); a file whose CAR
// is gone goes back to fetching; a root id that is not one is refused, and a file added twice is one.
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CarFileSink, importBytes, parseCid, verifyBlock } from '../../src/content/index.js';
import { GatewayFiles } from '../../src/node/gatewayFiles.js';
import { silentLogger } from '../../src/util/logger.js';
import { pseudoRandom } from '../helpers/bytes.js';
import { tempDir } from '../helpers/chain.js';

const dir = tempDir('bcr-gateway-files-');
afterAll(() => dir.cleanup());

const ROOT_A = `0x${'a'.repeat(64)}@1,2,3`;
const ROOT_B = `0x${'b'.repeat(64)}@4`;

describe('GatewayFiles', () => {
  it('serves a rebuilt file after a restart, refetches one whose CAR is gone, and refuses a bad root id', async () => {
    const gatewayDir = join(dir.path, 'gateway');
    mkdirSync(join(gatewayDir, 'files'), { recursive: true });
    const file = pseudoRandom(700_000, 31337);
    const probe = await CarFileSink.create(join(dir.path, 'probe.car'));
    const { cid } = await importBytes(file, probe);
    await probe.finish(cid);
    const sink = await CarFileSink.create(join(gatewayDir, 'files', `${cid}.car`));
    await importBytes(file, sink);
    await sink.finish(cid);
    const missing = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
    writeFileSync(
      join(gatewayDir, 'files.json'),
      JSON.stringify([
        { root: ROOT_A, cid: cid.toString(), name: 'a.bin', size: file.length, status: 'ready', error: null },
        { root: ROOT_B, cid: missing, name: 'b.bin', size: 10, status: 'ready', error: null },
      ]),
    );
    const files = await GatewayFiles.open(gatewayDir, silentLogger);
    const root = await files.get(cid);
    expect(root).not.toBeNull();
    await verifyBlock(cid, root!);
    expect(await files.get(parseCid(missing))).toBeNull();
    expect(files.list().map((f) => [f.root, f.status])).toEqual([
      [ROOT_A, 'ready'],
      [ROOT_B, 'fetching'],
    ]);
    await expect(files.add('0x12@1')).rejects.toThrow(/a root id looks like/);
    expect((await files.add(ROOT_A.toUpperCase().replace('0X', '0x'))).status).toBe('ready');
    expect(files.list()).toHaveLength(2);
    await files.close();
    rmSync(join(dir.path, 'probe.car'));
  });
});
