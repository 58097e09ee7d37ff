// The deadline watchdog: warns BEFORE a proof is late rather than after the power is gone. Each
// slot it looks at the miner's open deadline (has its WindowPoSt landed? how close is the window to
// closing?), times each WindowPoSt against its window, and a window ahead of each deadline reads and
// verifies one random challenge of one of its replicas. Every warning is a log line, a metric and a
// miner event; every closed window is counted as proven or missed.
import { randomInt } from 'node:crypto';
import type { ChainStore } from '../chain/index.js';
import type { MinerParams } from '../consensus/index.js';
import type { Metrics, WatchdogWarning } from '../metrics/index.js';
import { allProven, getMiner, provableSectors, upcomingWindows, windowStatus, type Miner, type StateDb, type WindowStatus } from '../state/index.js';
import type { Logger } from '../util/logger.js';
import type { MinerEvent } from './events.js';
import type { DueSector } from './remoteSectors.js';

export interface WatchdogSettings {
  /** Warn when a window's WindowPoSt has not landed this many slots before it closes. */
  marginSlots: number;
  /** Warn when computing a WindowPoSt took more than this share of its window (0..1). */
  slowProofShare: number;
  /** Self-check a replica of each deadline this many slots before its window opens. */
  selfCheckLeadSlots: number;
}

/** Defaults from the window width: a quarter of the window as margin (at least 2 slots), half for proving. */
export function defaultWatchdogSettings(params: MinerParams): WatchdogSettings {
  const width = Math.floor(params.provingPeriod / params.deadlines);
  return { marginSlots: Math.max(2, Math.floor(width / 4)), slowProofShare: 0.5, selfCheckLeadSlots: width };
}

export interface WatchdogContext {
  chain: ChainStore;
  minerId: number;
  /** Null when the sector's replica (wherever it is held) answers a fresh challenge; else why not. */
  checkReplica: (sector: DueSector) => Promise<string | null>;
  emit: (kind: MinerEvent['kind'], fields: Record<string, unknown>) => void;
  metrics: Metrics | null;
  log: Logger;
  settings: WatchdogSettings;
}

export class DeadlineWatchdog {
  /** The window being watched: counted as proven or missed once it closes. */
  private watched: WindowStatus | null = null;
  private readonly warned = new Set<string>();
  private readonly checked = new Set<string>();

  constructor(private readonly ctx: WatchdogContext) {}

  /** Called once per slot by the miner loop (never blocks on proving). */
  async onSlot(slot: number): Promise<void> {
    const { chain, minerId } = this.ctx;
    const state = chain.headState();
    const miner = await getMiner(state, minerId);
    if (!miner) return;
    const status = await windowStatus(state, chain.params.miners, minerId, miner, slot);
    await this.closeWatched(state, status, slot);
    if (status && status.sectors > 0) {
      this.watched = status;
      const left = status.close - slot;
      if (!status.proven && left <= this.ctx.settings.marginSlots) {
        this.warn('deadline_at_risk', `${status.period}:${status.deadline}`, 'deadlineAtRisk', { period: status.period, deadline: status.deadline, slotsLeft: left, closes: status.close, sectors: status.sectors }, 'WindowPoSt not landed and the deadline closes soon');
      }
    }
    await this.selfCheckAhead(state, miner, slot);
  }

  /** A WindowPoSt took `ms` to compute for a window of `windowSlots` slots. */
  provedIn(ms: number, window: { period: number; deadline: number; open: number; close: number }): void {
    this.ctx.metrics?.windowPostSeconds.observe(ms / 1000);
    const windowMs = (window.close - window.open) * this.ctx.chain.params.slotMs;
    if (ms > windowMs * this.ctx.settings.slowProofShare) {
      this.warn('slow_proof', `${window.period}:${window.deadline}`, 'slowProof', { period: window.period, deadline: window.deadline, provingMs: Math.round(ms), windowMs, share: Math.round((ms / windowMs) * 100) / 100 }, 'WindowPoSt took a large share of its window');
    }
  }

  private async closeWatched(state: StateDb, current: WindowStatus | null, slot: number): Promise<void> {
    const watched = this.watched;
    if (!watched) return;
    const same = current && current.period === watched.period && current.deadline === watched.deadline;
    if (same || slot < watched.close) return;
    this.watched = null;
    const label = { miner: String(this.ctx.minerId) };
    // Read again now: the proof may have landed in the window's last block, after the last look.
    const proven = watched.proven || (await allProven(state, this.ctx.minerId, await provableSectors(state, this.ctx.minerId, watched.deadline), watched.period));
    if (proven) this.ctx.metrics?.deadlinesProven.inc(label);
    else {
      this.ctx.metrics?.deadlinesMissed.inc(label);
      this.ctx.log.error({ period: watched.period, deadline: watched.deadline, sectors: watched.sectors }, 'Deadline closed without a WindowPoSt: its sectors turn faulty');
      this.ctx.emit('deadlineMissed', { period: watched.period, deadline: watched.deadline, sectors: watched.sectors });
    }
  }

  /** Ahead of the next window, reads one random challenge of one of its replicas and verifies it. */
  private async selfCheckAhead(state: StateDb, miner: Miner, slot: number): Promise<void> {
    const { chain, minerId, settings } = this.ctx;
    const next = upcomingWindows(chain.params.miners, miner, slot, 2).find((w) => w.open > slot);
    if (!next || next.open - slot > settings.selfCheckLeadSlots) return;
    const key = `${next.period}:${next.deadline}`;
    if (this.checked.has(key)) return;
    this.checked.add(key);
    if (this.checked.size > 256) this.checked.delete(this.checked.values().next().value!);
    const sectors = await provableSectors(state, minerId, next.deadline);
    const live = sectors.filter((s) => !s.faulty);
    if (live.length === 0) return;
    const sector = live[randomInt(live.length)]!;
    const failure = await this.ctx.checkReplica(sector);
    if (failure) {
      this.warn('replica_check_failed', `${key}:${sector.number}`, 'replicaCheckFailed', { sector: sector.number, period: next.period, deadline: next.deadline, opens: next.open, reason: failure }, 'Replica failed its self-check before its deadline');
    } else this.ctx.log.debug({ sector: sector.number, deadline: next.deadline }, 'Replica self-check passed');
  }

  private warn(kind: WatchdogWarning, key: string, event: MinerEvent['kind'], fields: Record<string, unknown>, message: string): void {
    const id = `${kind}:${key}`;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    if (this.warned.size > 1024) this.warned.delete(this.warned.values().next().value!);
    this.ctx.metrics?.watchdogWarnings.inc({ kind });
    this.ctx.log.warn({ miner: this.ctx.minerId, ...fields }, message);
    this.ctx.emit(event, fields);
  }
}
