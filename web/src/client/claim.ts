// Claims: which tab may carry on a journalled session. A client id must
// never be live in two tabs at once (the server would let the newer
// connection take over, and both tabs would resend one journal), so a tab
// claims every client id it uses, its own included, and holds the claim
// until it closes.
//
// With navigator.locks (every current browser) a claim is an exclusive Web
// Lock, held for the page's lifetime and released by the browser when the
// page goes away, however it goes. Without it, a claim is a lease in the
// journal, renewed while the page lives and ended on pagehide; a page that
// died without ending it is taken over once the lease runs out.

import type { Journal } from './journal.js';

/** Claim is a held claim. */
export interface Claim {
  /** release gives the claim up. */
  release(): void;
  /** onLost registers fn to run if the claim is lost while held (a lease that could not be renewed in time). */
  onLost(fn: () => void): void;
}

/** Claims hands out claims on (scope, client id). */
export interface Claims {
  /** claim returns the claim, or null at once when another page holds it. */
  claim(scope: string, client: string): Promise<Claim | null>;
}

/** lockClaims claims with Web Locks. */
export function lockClaims(locks: LockManager): Claims {
  return {
    claim(scope, client) {
      return new Promise<Claim | null>((resolve, reject) => {
        locks
          .request(`cowrite ${scope} ${client}`, { mode: 'exclusive', ifAvailable: true }, (lock) => {
            if (!lock) {
              resolve(null);
              return;
            }
            // Hold the lock until release is called.
            return new Promise<void>((release) => resolve({ release: () => release(), onLost() {} }));
          })
          .catch(reject);
      });
    },
  };
}

/** LEASE_TTL is how long a lease lasts without renewal: longer than a hidden tab's throttled timers may sleep. */
export const LEASE_TTL = 3 * 60_000;

/** leaseClaims claims with leases in journal, renewed every ttl/3 ms. */
export function leaseClaims(journal: Journal, ttl = LEASE_TTL): Claims {
  const holder = randomId();
  return {
    async claim(scope, client) {
      if (!(await journal.lease(scope, client, holder, ttl))) return null;
      let lost: (() => void) | null = null;
      let held = true;
      const timer = setInterval(() => {
        journal.lease(scope, client, holder, ttl).then(
          (ok) => {
            if (!ok && held) {
              stop();
              lost?.();
            }
          },
          () => {}, // a failing journal: keep going, the next renewal may work
        );
      }, ttl / 3);
      const target = globalThis as Partial<EventTarget>;
      const onPageHide = () => release();
      target.addEventListener?.('pagehide', onPageHide);
      const stop = () => {
        held = false;
        clearInterval(timer);
        target.removeEventListener?.('pagehide', onPageHide);
      };
      const release = () => {
        if (!held) return;
        stop();
        journal.unlease(scope, client, holder).catch(() => {});
      };
      return { release, onLost: (fn) => (lost = fn) };
    },
  };
}

/** freeClaims grants every claim: for a client without a journal, where there is nothing to share. */
export const freeClaims: Claims = {
  async claim() {
    return { release() {}, onLost() {} };
  },
};

/** randomId returns 16 random bytes in base64url: 22 characters of A-Z a-z 0-9 _ -. */
export function randomId(): string {
  const b = new Uint8Array(16);
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += abc[(n >> 18) & 63] + abc[(n >> 12) & 63] + (i + 1 < b.length ? abc[(n >> 6) & 63] : '') + (i + 2 < b.length ? abc[n & 63] : '');
  }
  return s;
}
