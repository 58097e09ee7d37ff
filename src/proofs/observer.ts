// Proof verification runs deep inside the pure state transition (WindowPoSt and PoRep txs) and the
// election check (WinningPoSt), where no metrics object can reach without threading it through
// every tx kind. A node runs its imports inside its own write-only observer instead (carried by
// AsyncLocalStorage across the awaits of one import): it sees each verdict and its time, cannot change
// a result, and two nodes in one process each see only their own.
import { AsyncLocalStorage } from 'node:async_hooks';

export type VerifiedProofKind = 'winning' | 'window' | 'porep';
export type ProofObserver = (kind: VerifiedProofKind, valid: boolean, seconds: number) => void;

const current = new AsyncLocalStorage<ProofObserver>();

/** Runs `work` with `observer` hearing of every proof verified inside it (null: none). */
export function withProofObserver<T>(observer: ProofObserver | null, work: () => T): T {
  return observer ? current.run(observer, work) : work();
}

/** Runs a verification and reports it (a failure is any non-null result). */
export function observed<F>(kind: VerifiedProofKind, verify: () => F | null): F | null {
  const observer = current.getStore();
  if (!observer) return verify();
  const start = performance.now();
  const failure = verify();
  observer(kind, failure === null, (performance.now() - start) / 1000);
  return failure;
}
