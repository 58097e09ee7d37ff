// `bcr car pack PATH --out F.car`: a file or directory as a UnixFS DAG in one CAR (the profile of
// docs/protocol.md §15, so the root CID equals what IPFS tools compute); `bcr car unpack F.car --out
// PATH`: every block checked against its CID, the root written back out bit for bit.
import { open, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { CarFileSink, exportTo, importPath, indexStoredCar, type CID } from '../../content/index.js';
import { UsageError, printJson } from '../io.js';

export function registerCar(program: Command): void {
  const car = program.command('car').description('content-addressed archives: files and directories as IPFS DAGs (CIDv1, UnixFS)');
  car
    .command('pack')
    .description('import a file or directory as a UnixFS DAG and write it as a CAR; prints the root CID')
    .argument('<path>', 'a file or a directory')
    .requiredOption('--out <file>', 'the CAR file to write')
    .option('--json', 'machine-readable output')
    .action(async (path: string, opts: { out: string; json?: boolean }) => {
      const sink = await CarFileSink.create(opts.out);
      const root = await importPath(path, sink);
      await sink.finish(root.cid);
      const result = { root: root.cid.toString(), directory: root.directory, blocks: sink.blocks, carBytes: sink.bytes, out: opts.out };
      if (opts.json) return printJson(result);
      console.log(result.root);
      process.stderr.write(`${opts.out}: ${sink.blocks} blocks, ${sink.bytes} bytes (${root.directory ? 'a directory' : 'a file'})\n`);
    });

  car
    .command('unpack')
    .description('check every block of a CAR against its CID and write its root (a file or a directory) out')
    .argument('<car>', 'the CAR file')
    .requiredOption('--out <path>', 'where to write the file or directory')
    .option('--root <cid>', 'which root to write (default: the first in the CAR header)')
    .option('--json', 'machine-readable output')
    .action(async (carPath: string, opts: { out: string; root?: string; json?: boolean }) => {
      const size = (await stat(carPath)).size;
      const index = await indexStoredCar(carPath, 0, size);
      if (!index) throw new UsageError(`${carPath} is not a CAR (v1)`);
      if (index.rejected > 0) throw new UsageError(`${carPath}: ${index.rejected} block(s) do not hash to their CID; nothing was written`);
      const root = opts.root ? index.blocks.find((b) => b.cid.toString() === opts.root)?.cid : index.roots[0];
      if (!root) throw new UsageError(opts.root ? `${carPath} holds no block ${opts.root}` : `${carPath} names no root`);
      const where = new Map(index.blocks.map((b) => [b.cid.toString(), b]));
      const handle = await open(carPath, 'r');
      try {
        const source = {
          get: async (cid: CID) => {
            const at = where.get(cid.toString());
            if (!at) throw new UsageError(`${carPath} lacks block ${cid} of the DAG`);
            const bytes = new Uint8Array(at.length);
            await handle.read(bytes, 0, at.length, at.offset);
            return bytes;
          },
        };
        const written = await exportTo(root, source, opts.out);
        const result = { root: root.toString(), out: opts.out, bytes: written.bytes.toString(), files: written.files, directory: written.directory };
        if (opts.json) return printJson(result);
        console.log(`wrote ${written.bytes} bytes (${written.files} file(s)) of ${root} to ${opts.out}`);
      } finally {
        await handle.close();
      }
    });
}
