// Reconnect delays: exponential backoff with full jitter (PROTOCOL.md
// §6.5), so that a crowd of clients cut off at once does not come back at
// once.

/** Backoff bounds the delays: attempt n waits in (0, min(cap, base·2^n)] ms. */
export interface Backoff {
  base: number;
  cap: number;
}

/** defaultBackoff suits a browser fleet: the first retry within 250 ms, none later than 15 s. */
export const defaultBackoff: Backoff = { base: 250, cap: 15_000 };

/**
 * delay returns how long attempt n (from 0) waits: a random delay in
 * (0, min(cap, base·2^n)], drawn with random() in [0, 1). It is never
 * zero, not even for the first attempt, and never more than cap.
 */
export function delay(b: Backoff, attempt: number, random: () => number): number {
  const bound = Math.min(b.cap, b.base * 2 ** Math.min(Math.max(attempt, 0), 30));
  let r = random();
  if (!(r >= 0 && r < 1)) r = 0.5; // a broken random source must not break the bounds
  // 1 - r is in (0, 1], so the delay is in (0, bound]; at least 1 ms so that timers really wait.
  return Math.max(1, (1 - r) * bound);
}
