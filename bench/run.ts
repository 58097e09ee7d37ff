// `npm run bench -- AREA [--json]`: runs one benchmark area and prints its table (and JSON).
import { printReport, type BenchArea } from './report.js';
import { attestBench } from './attest.js';
import { cliBench } from './cli.js';
import { clusterBench } from './cluster.js';
import { consensusBench } from './consensus.js';
import { contentBench } from './content.js';
import { diskBench } from './disk.js';
import { evmBench } from './evm.js';
import { marketBench } from './market.js';
import { proofsBench } from './proofs.js';
import { retrievalBench } from './retrieval.js';
import { rpcBench } from './rpc.js';
import { stateBench } from './state.js';
import { syncBench } from './sync.js';

const areas: Record<string, BenchArea> = { attest: attestBench, cli: cliBench, cluster: clusterBench, consensus: consensusBench, content: contentBench, disk: diskBench, evm: evmBench, market: marketBench, proofs: proofsBench, retrieval: retrievalBench, rpc: rpcBench, state: stateBench, sync: syncBench };

const [area, ...rest] = process.argv.slice(2);
const selected = area ? areas[area] : undefined;
if (!selected) {
  console.error(`usage: npm run bench -- <${Object.keys(areas).join('|')}> [--json]`);
  process.exit(2);
}
const { rows, json } = await selected.run(rest);
printReport(`bench ${selected.name}`, rows, json, rest.includes('--json'));
