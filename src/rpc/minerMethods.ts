// Miner, sector and power-table methods of the bcr_* namespace, and the local miner's controls.
import type { ChainStore } from '../chain/index.js';
import type { MinerService } from '../miner/miner.js';
import { decode, errorMessage, toChecksumAddress, toHex } from '../primitives/index.js';
import { allProven, byPartition, dealProposalCodec, getMiner, getSector, getTotalPowerLog, getWorkerChange, minerIds, powerAt, provableSectors, upcomingWindows, type DealProposal, type Miner, type StateDb } from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';
import { hexDataParam, uintParam } from './params.js';

const STATE_NAMES = ['precommitted', 'active', 'faulty', 'terminated'] as const;

function minerJson(id: number, m: Miner) {
  return {
    miner: id,
    owner: toChecksumAddress(m.owner),
    worker: toChecksumAddress(m.worker),
    vrfKey: toHex(m.vrfKey),
    peerId: m.peerId,
    multiaddrs: m.multiaddrs,
    sectorSize: m.sectorSize,
    power: m.power.toString(),
    collateral: m.collateral.toString(),
    pledge: m.pledge.toString(),
    deposits: m.deposits.toString(),
    periodStart: m.periodStart,
    ineligibleUntil: m.ineligibleUntil,
  };
}

async function sectorsOf(state: StateDb, id: number, miner: Miner) {
  const out = [];
  for (let n = 0; n < miner.nextSector; n++) {
    const s = await getSector(state, id, n);
    if (!s) continue;
    out.push({ sector: n, state: STATE_NAMES[s.state], commR: toHex(s.commR), commD: toHex(s.commD), deadline: s.deadline, activation: s.activation, expiration: s.expiration, faultyPeriods: s.faultyPeriods, pledge: s.pledge.toString() });
  }
  return out;
}

export function minerMethods({ chain, miner: localMiner }: { chain: ChainStore; miner: () => MinerService | null }): MethodDescriptor[] {
  const load = async (id: number) => {
    const m = await getMiner(chain.headState(), id);
    if (!m) throw new RpcError(RpcErrorCode.notFound, `miner ${id} does not exist`);
    return m;
  };
  return [
    {
      name: 'bcr_getMiner',
      description: "A miner's record: owner, worker, keys, power (bytes), collateral, pledge, deposits, and sector counts by state.",
      params: [uintParam('miner')],
      handler: async ([id]) => {
        const m = await load(id as number);
        const sectors = await sectorsOf(chain.headState(), id as number, m);
        const counts = Object.fromEntries(STATE_NAMES.map((name) => [name, sectors.filter((s) => s.state === name).length]));
        const change = await getWorkerChange(chain.headState(), id as number);
        const workerChange = change ? { oldWorker: toChecksumAddress(change.oldWorker), newWorker: toChecksumAddress(change.newWorker), effectiveHeight: change.effectiveHeight } : null;
        return { ...minerJson(id as number, m), workerChange, sectors: counts };
      },
    },
    {
      name: 'bcr_getSectors',
      description: "A miner's sectors with their state, commitments, deadline and faults.",
      params: [uintParam('miner')],
      handler: async ([id]) => sectorsOf(chain.headState(), id as number, await load(id as number)),
    },
    {
      name: 'bcr_getDeadlines',
      description: "A miner's next proving windows from the head slot (the open one first): slots, sectors and the partitions they are proven in (one WindowPoSt each), whether proven (no proof owed for the window's period: a WindowPoSt landed, or the sectors' first period is free), and the margin in slots before each closes.",
      params: [uintParam('miner'), uintParam('count', true, 64)],
      handler: async ([id, count]) => {
        const m = await load(id as number);
        const state = chain.headState();
        const slot = chain.head.header.slot;
        const windows = upcomingWindows(chain.params.miners, m, slot, Math.min(Math.max((count as number | undefined) ?? chain.params.miners.deadlines, 1), 4 * chain.params.miners.deadlines));
        const out = [];
        for (const w of windows) {
          const open = w.open <= slot;
          const sectors = await provableSectors(state, id as number, w.deadline);
          const proven = sectors.length > 0 && (await allProven(state, id as number, sectors, w.period));
          out.push({ ...w, state: open ? 'open' : 'upcoming', sectors: sectors.length, partitions: byPartition(chain.params.miners, sectors).size, faulty: sectors.filter((s) => s.faulty).length, proven, marginSlots: w.close - slot, opensInSlots: Math.max(0, w.open - slot) });
        }
        return { slot, slotMs: chain.params.slotMs, windows: out };
      },
    },
    {
      name: 'bcr_getPowerTable',
      description: 'Proven power (bytes, decimal strings) of every miner and the network total, at the head.',
      params: [],
      handler: async () => {
        const state = chain.headState();
        const height = chain.head.header.height;
        const miners = [];
        for (const id of await minerIds(state)) {
          const m = (await getMiner(state, id))!;
          miners.push({ miner: id, power: m.power.toString(), owner: toChecksumAddress(m.owner), sectorSize: m.sectorSize });
        }
        return { height, total: powerAt(await getTotalPowerLog(state), height).toString(), miners };
      },
    },
    {
      name: 'bcr_minerInfo',
      description: "This node's miner: id, sealing jobs and the local sector store.",
      params: [],
      handler: async () => {
        const miner = localMiner();
        if (!miner) throw new RpcError(RpcErrorCode.notFound, 'this node runs no miner');
        const m = await load(miner.minerId);
        return { ...minerJson(miner.minerId, m), sealing: miner.sealing.jobsJson() };
      },
    },
    {
      name: 'bcr_clusterStatus',
      description: "The local miner's cluster (bcr node --cluster): its workers (up, down or refused after a proof that did not verify), their free space, queued and running tasks, where each sector is held, and the next proving windows with who proves which sectors. Hosts and disk paths are left out.",
      params: [],
      handler: async () => {
        const miner = localMiner();
        const remote = miner?.remote;
        if (!miner || !remote) throw new RpcError(RpcErrorCode.notFound, 'this node runs no miner cluster (bcr node --cluster)');
        const status = await remote.status();
        const holder = new Map(status.sectors.map((s) => [s.sector, s.worker]));
        const m = await load(miner.minerId);
        const state = chain.headState();
        const windows = [];
        for (const w of upcomingWindows(chain.params.miners, m, chain.head.header.slot, chain.params.miners.deadlines)) {
          const counts = new Map<string, number>();
          for (const s of await provableSectors(state, miner.minerId, w.deadline)) {
            const by = holder.get(s.number) ?? 'node';
            counts.set(by, (counts.get(by) ?? 0) + 1);
          }
          windows.push({ period: w.period, deadline: w.deadline, open: w.open, close: w.close, provers: [...counts].map(([worker, sectors]) => ({ worker, sectors })) });
        }
        return {
          workers: status.workers.map((w) => ({ name: w.name, alive: w.alive, refused: w.badReason, tasks: w.tasks, lastSeenMs: w.lastSeenMs, disks: w.storage.length, capacityBytes: w.storage.reduce((a, d) => a + d.capacityBytes, 0), freeBytes: w.storage.reduce((a, d) => a + d.freeBytes, 0), sectors: status.sectors.filter((s) => s.worker === w.name).length })),
          tasks: status.tasks,
          running: status.running,
          sectors: status.sectors.map((s) => ({ sector: s.sector, worker: s.worker })),
          windows,
        };
      },
    },
    {
      name: 'bcr_minerSeal',
      description: 'Seals, pre-commits and prove-commits `count` new committed-capacity sectors (local miner; needs admin).',
      permission: 'admin',
      params: [uintParam('count')],
      handler: async ([count]) => {
        const miner = localMiner();
        if (!miner) throw new RpcError(RpcErrorCode.notFound, 'this node runs no miner');
        if ((count as number) < 1 || (count as number) > 64) throw new RpcError(RpcErrorCode.invalidParams, 'count must be 1..64');
        return { sectors: await miner.sealing.request(count as number) };
      },
    },
    {
      name: 'bcr_minerImportDeal',
      description: "An offline deal for the local miner: the client's signed proposal (0x-hex of its canonical encoding), the client's signature, and the piece's bytes; the node checks the piece and publishes the deal; once it is on chain the piece is packed into a sector and sealed (admin).",
      permission: 'admin',
      params: [hexDataParam('proposal'), hexDataParam('clientSignature', 65), hexDataParam('piece')],
      handler: async ([proposalBytes, signature, piece]) => {
        const miner = localMiner();
        if (!miner) throw new RpcError(RpcErrorCode.notFound, 'this node runs no miner');
        let proposal: DealProposal;
        try {
          proposal = decode(dealProposalCodec, proposalBytes as Uint8Array, 'deal proposal');
        } catch (error) {
          throw new RpcError(RpcErrorCode.invalidParams, `invalid param 0 (proposal): ${errorMessage(error)}`);
        }
        return miner.sealing.importDeal(proposal, signature as Uint8Array, piece as Uint8Array);
      },
    },
  ];
}
