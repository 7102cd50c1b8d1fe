// The client library against a real Cowrite server, when one is given:
//
//   COWRITE_SERVER_URL=http://localhost:8080 npm run test:server
//
// Skipped without COWRITE_SERVER_URL, and where this Node has no WebSocket
// (Node 20 needs --experimental-websocket, which test:server passes).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import Delta from 'quill-delta';

import { CowriteClient, MemoryJournal } from '../src/client/index.js';
import type { ClientOptions } from '../src/client/index.js';
import { FakeLocks, seeded, textOf, until } from './fakes.js';

const url = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.COWRITE_SERVER_URL ?? '';
const WS = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
const skip = !url ? 'COWRITE_SERVER_URL is not set' : !WS ? 'this Node has no WebSocket (use --experimental-websocket)' : false;

describe('against a real server', { skip }, () => {
  const doc = `client-lib-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
  const clients: CowriteClient[] = [];
  const make = (opts: Partial<ClientOptions> = {}) => {
    const c = new CowriteClient({ server: url, doc, name: 'Node', color: '#336699', journal: null, backoff: { base: 50, cap: 500 }, ...opts });
    clients.push(c);
    return c;
  };
  const settled = () => clients.every((c) => c.status.state === 'saved');

  it('two clients edit at once and converge; a third loads the same document', async () => {
    try {
      const a = make({ name: 'A' });
      const b = make({ name: 'B' });
      await a.start();
      await b.start();
      const random = seeded(42);
      let inserts = 0;
      for (let i = 0; i < 60; i++) {
        const c = random() < 0.5 ? a : b;
        const len = c.document.length();
        const at = Math.floor(random() * (len + 1));
        if (random() < 0.75 || at === len) {
          c.submit(new Delta().retain(at).insert(String.fromCharCode(97 + (i % 26))));
          inserts++;
        } else c.submit(new Delta().retain(at).retain(1, { bold: true }));
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await until(() => settled() && a.document.length() === b.document.length(), 'both saved', 10_000);
      await until(() => JSON.stringify(a.document) === JSON.stringify(b.document), 'convergence', 10_000);
      const c = make({ name: 'C' });
      const loaded = await c.start();
      assert.deepEqual(loaded, a.document);
      assert.equal(textOf(loaded).length, inserts);
    } finally {
      for (const c of clients.splice(0)) c.destroy();
    }
  });

  it('a page closed with unsent edits: the next one delivers them exactly once', async () => {
    const journal = new MemoryJournal();
    const locks = new FakeLocks();
    try {
      const a = make({ journal, locks: locks.asLockManager });
      await a.start();
      a.submit(new Delta().insert('journalled'));
      a.destroy(); // closed at once: the op may or may not have reached the server
      locks.drop();
      const b = make({ journal, locks: locks.asLockManager });
      await b.start();
      assert.equal(b.clientId, a.clientId);
      await until(() => b.status.state === 'saved', 'saved', 10_000);
      const c = make();
      const text = textOf(await c.start());
      assert.equal(text.split('journalled').length - 1, 1, text);
    } finally {
      for (const c of clients.splice(0)) c.destroy();
    }
  });
});
