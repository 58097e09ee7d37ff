// Which miners store a file: the cheapest live asks first (then the most power), each one dialed
// for its own signed ask before it is used (an ask on chain costs nothing to post: the cheapest may be
// unreachable or lie, and is skipped with its reason).
import { ClientError } from './errors.js';
import { minerTarget, type ClientSession, type MinerTarget } from './deals.js';
import { callRpc } from './rpc.js';

/** Miners with live asks, best first: cheapest, then most power. */
export async function askCandidates(rpc: string, excluded: Set<number>): Promise<number[]> {
  const asks = await callRpc<{ miner: number; pricePerGiBSlot: string; power: string; multiaddrs: string[] }[]>(rpc, 'bcr_listAsks');
  const usable = asks.filter((a) => a.multiaddrs.length > 0 && !excluded.has(a.miner));
  usable.sort((a, b) => {
    const price = BigInt(a.pricePerGiBSlot) - BigInt(b.pricePerGiBSlot);
    if (price !== 0n) return price < 0n ? -1 : 1;
    const power = BigInt(b.power) - BigInt(a.power);
    return power === 0n ? a.miner - b.miner : power < 0n ? -1 : 1;
  });
  return [...new Set(usable.map((a) => a.miner))];
}

/** The first `count` candidates that answer with a valid ask of their own. */
export async function reachableTargets(session: ClientSession, candidates: number[], count: number): Promise<MinerTarget[]> {
  const targets: MinerTarget[] = [];
  const skipped: string[] = [];
  for (const id of candidates) {
    if (targets.length === count) break;
    try {
      targets.push(await minerTarget(session, id));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      skipped.push(`miner ${id}`);
      session.log(`skipping ${reason}`);
    }
  }
  if (targets.length < count) throw new ClientError(`${count} distinct miners are needed, ${targets.length} of ${candidates.length} with live asks answered${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''} (bcr market asks)`);
  return targets;
}
