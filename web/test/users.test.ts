// The journal is kept per user: on a browser shared by two users, one's
// unsent edits are never shown to the other, nor sent under the other's
// token (the server would stamp them with the other's name). They wait
// until their own user signs in again, and are then sent once.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { CowriteClient, unsentEdits } from '../src/client/index.js';
import type { ClientOptions, Journal } from '../src/client/index.js';
import {
  closeTab as close, count, destroyClients, fakeJWT, ins, MiniServer, openTab, profiles, saved, textOf, tick, until,
} from './fakes.js';
import type { Profile as AnyProfile } from './fakes.js';

/** Profile is a browser profile that keeps a journal. */
type Profile = AnyProfile & { journal: Journal };

afterEach(destroyClients);

const server0 = 'https://cowrite.test';

/** jwt makes a token that looks like a JWT for sub (its signature is junk: the client does not check it). */
function jwt(sub: string): string {
  return fakeJWT({ sub, exp: Math.floor(Date.now() / 1000) + 3600 });
}

const ann = jwt('ann');
const bob = jwt('bob');

function tab(server: MiniServer, p: Profile, opts: Partial<ClientOptions> = {}): CowriteClient {
  return openTab(server, p, { name: 'Someone', ...opts });
}

/** helloTokens maps each client id the server saw in a hello to the tokens it came with. */
function helloTokens(server: MiniServer): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const h of server.received.filter((x) => x.t === 'hello')) {
    const id = h.client as string;
    if (!m.has(id)) m.set(id, new Set());
    m.get(id)!.add((h.token as string | undefined) ?? '');
  }
  return m;
}

/** annOffline leaves Ann's page closed with unsent edits typed offline, and returns its client id. */
async function annOffline(server: MiniServer, p: Profile): Promise<string> {
  const a = tab(server, p, { token: () => ann });
  await a.start();
  a.submit(ins(0, 'Shared.\n'));
  await until(() => saved(a));
  server.offline = true;
  server.disconnect();
  a.submit(ins(6, ' Ann offline'));
  a.submit(ins(0, '>'));
  await until(() => a.status.state === 'offline');
  const id = a.clientId;
  await close(a, p);
  server.offline = false;
  return id;
}

for (const [name, profile] of profiles) {
  describe(`journal per user (${name})`, () => {
    it("another user's page neither shows nor sends the unsent edits; their own user's sends them once", async () => {
      const server = new MiniServer();
      const p = profile();
      const annId = await annOffline(server, p);
      assert.equal(await unsentEdits({ server: server0, token: ann, journal: p.journal }), 2);
      assert.equal(await unsentEdits({ server: server0, token: bob, journal: p.journal }), 0);
      assert.equal(await unsentEdits({ server: server0, journal: p.journal }), 0, 'nor in open mode');

      // Bob signs in on the same browser (a plain token, this time).
      const b = tab(server, p, { token: bob });
      const doc = await b.start();
      assert.equal(textOf(doc), 'Shared.\n', "Bob's page shows the server's document, without Ann's edits");
      assert.notEqual(b.clientId, annId);
      b.submit(ins(0, 'Bob. '));
      await until(() => saved(b));
      await tick(20);
      assert.equal(server.text(), 'Bob. Shared.\n');
      assert.equal(b.status.pending, 0, "Ann's edits are not Bob's to count");
      assert.equal(helloTokens(server).get(annId)?.has(bob) ?? false, false, "Ann's session never went out with Bob's token");
      await close(b, p);
      assert.equal(await unsentEdits({ server: server0, token: ann, journal: p.journal }), 2, "Ann's journal is untouched");

      // Ann again: her session carries on and delivers its edits once.
      const a = tab(server, p, { token: () => ann });
      const mine = await a.start();
      assert.equal(a.clientId, annId);
      assert.equal(textOf(mine), '>Shared Ann offline.\n');
      await until(() => saved(a));
      await tick(20);
      assert.equal(count(server.text(), 'Ann offline'), 1);
      assert.equal(count(server.text(), '>'), 1);
      assert.equal(server.text(), 'Bob. >Shared Ann offline.\n');
      assert.deepEqual([...helloTokens(server).get(annId)!], [ann]);
      await close(a, p); // acks are journalled within a second, or when the page goes
      assert.equal(await unsentEdits({ server: server0, token: ann, journal: p.journal }), 0);
    });

    it('a page stops rather than send its unsent edits with the token of another user', async () => {
      const server = new MiniServer();
      const p = profile();
      let current = ann;
      const a = tab(server, p, { token: () => current });
      await a.start();
      a.submit(ins(0, 'Shared.\n'));
      await until(() => saved(a));
      server.offline = true;
      server.disconnect();
      a.submit(ins(6, ' Ann offline'));
      await until(() => a.status.state === 'offline');
      // Another tab signs this browser in as Bob; the network comes back.
      current = bob;
      server.offline = false;
      await until(() => a.status.state === 'error');
      assert.equal(a.status.code, 'user_changed');
      assert.equal(a.status.pending, 1, 'the edit is kept');
      assert.equal(helloTokens(server).get(a.clientId)?.has(bob) ?? false, false);
      assert.equal(server.text(), 'Shared.\n');
      const annId = a.clientId;
      await close(a, p);

      current = ann;
      const again = tab(server, p, { token: () => current });
      await again.start();
      assert.equal(again.clientId, annId);
      await until(() => saved(again));
      assert.equal(server.text(), 'Shared Ann offline.\n');
    });

    it('keeps open-mode records where they were: no token, no user in the scope', async () => {
      const server = new MiniServer();
      const p = profile();
      const o = tab(server, p);
      await o.start();
      const t = tab(server, p, { doc: 'other', token: ann });
      await t.start();
      await tick(20);
      assert.equal((await p.journal.list(`${server0} notes`)).length, 1);
      assert.equal((await p.journal.list(`${server0} other`)).length, 0);
      assert.equal((await p.journal.list(`${server0} other @ann`)).length, 1);
    });
  });
}
