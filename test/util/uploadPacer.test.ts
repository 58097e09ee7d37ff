import { describe, expect, it } from 'vitest';
import { UploadPacer } from '../../src/util/uploadPacer.js';

describe('UploadPacer', () => {
  it('lets a burst through at once, then spaces sends at the rate, shared by every caller', async () => {
    let clock = 0;
    const pacer = new UploadPacer(1000, 500, () => clock);
    // Inside the burst: no wait (a wait would leave this promise pending while the clock stands still).
    await pacer.take(400);
    // 600 more: the line is reserved until 1000 ms; the burst lets it start 500 ms early.
    const second = pacer.take(600);
    let done = false;
    void second.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    await second;
    // Two callers at once queue one after the other: each reservation starts where the last ended.
    clock = 1000;
    const a = pacer.take(1000);
    const b = pacer.take(1000);
    await Promise.all([a, b]);
    expect(Reflect.get(pacer, 'freeAt')).toBe(3000);
  });

  it('refuses a cap that is not positive', () => {
    expect(() => new UploadPacer(0)).toThrow(RangeError);
    expect(() => new UploadPacer(Number.NaN)).toThrow(RangeError);
  });
});
