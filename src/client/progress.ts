// Progress as the library reports it: named transfers with their counts, and lines of their own.
// The CLI draws them (bars or plain lines); a library caller gets them as calls to its object.

export interface Progress {
  /** `name` done of total; `text` is the plain line to show when nothing is drawn. */
  update(name: string, done: number, total: number, text: (percent: number) => string): void;
  /** A line of its own. */
  log(line: string): void;
  stop(): void;
}

/** Progress nobody watches. */
export function silentProgress(): Progress {
  return { update: () => {}, log: () => {}, stop: () => {} };
}
