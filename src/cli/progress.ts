// Progress a person can follow: bars on a terminal (cli-progress), plain lines at every tenth
// otherwise (logs, CI, pipes). Written to stderr so stdout stays machine-readable.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

import type { Progress } from '../client/progress.js';

export type { Progress };

export function createProgress(tty = Boolean(process.stderr.isTTY)): Progress {
  if (!tty) {
    const shown = new Map<string, number>();
    return {
      update(name, done, total, text) {
        const tenth = Math.floor((done * 10) / Math.max(1, total));
        if (shown.get(name) === tenth) return;
        shown.set(name, tenth);
        process.stderr.write(`${text(tenth * 10)}\n`);
      },
      log: (line) => process.stderr.write(`${line}\n`),
      stop: () => undefined,
    };
  }
  const multi = new MultiBar({ stream: process.stderr, format: '{name} [{bar}] {percentage}% {value}/{total}', clearOnComplete: false, hideCursor: true }, Presets.shades_classic);
  const bars = new Map<string, SingleBar>();
  return {
    update(name, done, total) {
      let bar = bars.get(name);
      if (!bar) bars.set(name, (bar = multi.create(total, 0, { name })));
      bar.setTotal(total);
      bar.update(done, { name });
    },
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}
