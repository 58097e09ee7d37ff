// A progress line per label layer while a sector seals (a layer of a mainnet sector takes minutes),
// as the node prints it for its own sectors and a cluster worker for the ones it seals.
import type { SealProgress } from '../proofs/index.js';
import type { Logger } from '../util/logger.js';

export function sealProgressLogger(log: Logger, sector: number): (p: SealProgress) => void {
  let layer = 0;
  let reported = -1;
  return (p) => {
    if (p.phase !== 'labels' || p.layer === undefined) return;
    if (p.layer !== layer) {
      layer = p.layer;
      log.info({ sector, layer }, 'Sealing: labelling layer');
    }
    // A quarter at a time within a layer.
    const quarter = Math.floor(p.done * 4);
    if (quarter !== reported && quarter > 0 && quarter < 4) log.info({ sector, layer, done: quarter / 4 }, 'Sealing: layer progress');
    reported = quarter;
  };
}
