import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { defaultBackoff, delay } from '../src/client/backoff.js';
import { seeded } from './fakes.js';

describe('delay', () => {
  const b = { base: 100, cap: 5000 };

  it('waits up to base·2^n, up to the cap', () => {
    const top = () => 0; // 1 - 0: the upper bound
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((n) => delay(b, n, top)), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    assert.equal(delay(b, 1000, top), 5000);
  });

  it('is never zero, even when random returns its largest value', () => {
    const almostOne = () => 1 - Number.EPSILON;
    for (let n = 0; n < 10; n++) assert.ok(delay(b, n, almostOne) >= 1);
  });

  it('draws each delay at random within (0, bound]: full jitter from the first attempt', () => {
    const random = seeded(1);
    for (let n = 0; n < 12; n++) {
      const bound = Math.min(b.cap, b.base * 2 ** n);
      const seen = Array.from({ length: 200 }, () => delay(b, n, random));
      assert.ok(seen.every((d) => d > 0 && d <= bound), `attempt ${n}`);
      // Spread over the range, not bunched at one end.
      assert.ok(Math.min(...seen) < bound * 0.1 + 1 && Math.max(...seen) > bound * 0.9, `attempt ${n} is not jittered`);
    }
  });

  it('keeps its bounds whatever random returns', () => {
    for (const r of [NaN, -1, 1, 2, Infinity]) {
      const d = delay(b, 3, () => r);
      assert.ok(d > 0 && d <= 800, `random ${r} gave ${d}`);
    }
  });

  it('defaults to a 250 ms start and a 15 s cap', () => {
    assert.deepEqual(defaultBackoff, { base: 250, cap: 15_000 });
  });
});
