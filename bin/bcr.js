#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm ci` or `npm run build`) when it is at least as new as
// every source file: it starts in a fraction of a second. Otherwise (no build, or src edited since)
// it runs the TypeScript source through tsx: a few seconds slower to start, never stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const stamp = join(root, 'dist', '.built');
if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(join(root, 'src'))) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
