// Randomised runs: several users type, format and delete while messages
// arrive in random order, connections drop, the network goes away, the
// server forgets old history, and tabs close and reopen from their
// journal. In the end every editor shows the server's document, and every
// piece of text typed is there exactly once.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import Delta from 'quill-delta';

import { CowriteClient, MemoryJournal } from '../src/client/index.js';
import { FakeLocks, MiniServer, seeded, textOf, tick, until } from './fakes.js';

interface User {
  journal: MemoryJournal;
  locks: FakeLocks;
  client: CowriteClient;
  doc: Delta; // the editor's copy
  ready: boolean;
}

function open(server: MiniServer, u: Pick<User, 'journal' | 'locks'>, random: () => number): User {
  const client = new CowriteClient({
    server: 'http://cowrite.test',
    doc: 'rand',
    name: 'U',
    color: '#123456',
    journal: u.journal,
    locks: u.locks.asLockManager,
    WebSocket: server.WebSocket,
    random,
    backoff: { base: 1, cap: 4 },
  });
  const user: User = { ...u, client, doc: new Delta(), ready: false };
  client.on('ready', (d) => {
    user.doc = d;
    user.ready = true;
  });
  client.on('reset', (e) => {
    assert.equal(e.offered, undefined, `edits offered back: ${e.reason}`);
    user.doc = e.doc;
  });
  client.on('remote', (d) => (user.doc = user.doc.compose(d)));
  void client.start().catch(() => {});
  return user;
}

async function run(seed: number, deletes: boolean): Promise<void> {
  const random = seeded(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const server = new MiniServer();
  server.manual = true;
  const users: User[] = [];
  for (let i = 0; i < 3; i++) users.push(open(server, { journal: new MemoryJournal(), locks: new FakeLocks() }, random));
  const tokens: string[] = [];
  let n = 0;

  for (let step = 0; step < 500; step++) {
    const r = random();
    const u = pick(users);
    const len = u.doc.length();
    if (r < 0.3 && u.ready) {
      const t = String.fromCharCode(0x4e00 + n++); // one unique character each
      tokens.push(t);
      const change = new Delta().retain(Math.floor(random() * (len + 1))).insert(t);
      u.doc = u.doc.compose(change);
      u.client.submit(change);
    } else if (r < 0.37 && u.ready && len > 0) {
      const at = Math.floor(random() * len);
      const change = new Delta().retain(at).retain(1 + Math.floor(random() * Math.min(5, len - at)), { bold: random() < 0.5 ? true : null });
      u.doc = u.doc.compose(change);
      u.client.submit(change);
    } else if (r < 0.42 && deletes && u.ready && len > 0) {
      const at = Math.floor(random() * len);
      const change = new Delta().retain(at).delete(1 + Math.floor(random() * Math.min(4, len - at)));
      u.doc = u.doc.compose(change);
      u.client.submit(change);
    } else if (r < 0.72) {
      server.step(random);
    } else if (r < 0.76) {
      const m = server.members.length > 0 ? pick(server.members) : null;
      m?.sock.serverClose(pick([1006, 1001, 4008, 4009, 1011]));
      if (m) server.members = server.members.filter((x) => x !== m);
    } else if (r < 0.78) {
      server.offline = !server.offline;
      if (server.offline) server.disconnect();
    } else if (r < 0.8) {
      // The tab closes and the user opens the document again.
      u.client.destroy();
      await tick(2);
      u.locks.drop();
      users[users.indexOf(u)] = open(server, u, random);
    } else if (r < 0.81) {
      server.keep = server.keep === Infinity ? 2 : Infinity; // old history gone: snapshots and rebases
    } else if (r < 0.82) {
      server.blackhole = !server.blackhole; // ops lost on the way: resends
    } else {
      await tick(1);
    }
  }

  server.offline = false;
  server.blackhole = false;
  server.disconnect(); // ops lost in the black hole are resent on reconnect
  server.keep = Infinity;
  server.manual = false;
  server.flush();
  await until(() => users.every((u) => u.ready && u.client.status.state === 'saved'), `seed ${seed}: everyone saved`, 5000);
  await until(() => users.every((u) => u.client.document.length() === server.content.length()), `seed ${seed}: caught up`, 5000);
  for (const [i, u] of users.entries()) {
    assert.deepEqual(u.client.document, server.content, `seed ${seed}: user ${i}'s document`);
    assert.deepEqual(u.doc, server.content, `seed ${seed}: user ${i}'s editor`);
  }
  if (!deletes) {
    const text = textOf(server.content);
    for (const t of tokens) assert.equal(text.split(t).length - 1, 1, `seed ${seed}: ${t} is there once`);
    assert.equal(text.length, tokens.length, `seed ${seed}: nothing else is there`);
  }
  for (const u of users) u.client.destroy();
}

describe('random runs', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: every edit arrives exactly once, and everyone converges`, () => run(seed, false));
  }
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed} with deletes: everyone converges`, () => run(seed, true));
  }
});
