import type { Command } from 'commander';
import { buildTreeCache, fileSource, treeDepth } from '../../proofs/index.js';
import { toHex } from '../../primitives/index.js';
import { printJson } from '../io.js';

export function registerPiece(program: Command): void {
  const piece = program.command('piece').description('piece commitments of client data');
  piece
    .command('commit')
    .description('print the piece commitment (CommD) of a file: the SHA-256 Merkle root of its 32-byte leaves, zero-padded to a power of two')
    .argument('<file>', 'the file')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { json?: boolean }) => {
      const source = await fileSource(file);
      try {
        const tree = await buildTreeCache(source);
        const info = { file, size: source.size, paddedSize: source.leafCount * 32, depth: treeDepth(source.leafCount), commD: toHex(tree.root) };
        if (opts.json) printJson(info);
        else console.log(`${info.commD}  ${file} (${info.size} bytes, padded to ${info.paddedSize}, depth ${info.depth})`);
      } finally {
        await source.close();
      }
    });
}
