// Proof verification runs deep inside the pure state transition (WindowPoSt and PoRep txs) and the
// election check (WinningPoSt), where no metrics object can reach without threading it through
// every tx kind. The node registers one write-only observer here instead: it sees each verdict and
// its time, and cannot change a result.
export type VerifiedProofKind = 'winning' | 'window' | 'porep';
export type ProofObserver = (kind: VerifiedProofKind, valid: boolean, seconds: number) => void;

let observer: ProofObserver | null = null;

export function setProofObserver(next: ProofObserver | null): void {
  observer = next;
}

/** Runs a verification and reports it (a failure is any non-null result). */
export function observed<F>(kind: VerifiedProofKind, verify: () => F | null): F | null {
  if (!observer) return verify();
  const start = performance.now();
  const failure = verify();
  observer(kind, failure === null, (performance.now() - start) / 1000);
  return failure;
}
