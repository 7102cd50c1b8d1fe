// "New document" with a token: an id the token may create, read from its
// docs claim as the server reads it (src/editor/signin.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { newDocID, roleFor } from '../src/editor/signin.js';
import { fakeJWT } from './fakes.js';

function jwt(docs: unknown): string {
  return fakeJWT({ sub: 'ann', exp: 2_000_000_000, docs });
}

const tail = () => 'R4nd0m_tail-0123456789';

describe('new document ids', () => {
  it('lets the server name it without a token, or with edit on every id', () => {
    assert.equal(newDocID('', tail), '');
    assert.equal(newDocID(jwt({ '*': 'edit' }), tail), '');
    assert.equal(newDocID(jwt({ '*': 'admin', 'x-*': 'view' }), tail), '');
  });

  it('takes the first prefix pattern the token may edit, sorted, with a random tail', () => {
    assert.equal(newDocID(jwt({ 'team-*': 'edit' }), tail), 'team-R4nd0m_tail-0123456789');
    assert.equal(newDocID(jwt({ 'zed-*': 'admin', 'read-*': 'view', 'b.*': 'edit', notes: 'edit', '*': 'view' }), tail), 'b.R4nd0m_tail-0123456789');
  });

  it('skips a pattern whose ids a longer pattern takes back, or that makes no valid id', () => {
    let n = 0;
    const tails = () => (n++ === 0 ? 'secret-abcdefghijklmnop' : 'abcdefghijklmnopqrstuv');
    assert.equal(newDocID(jwt({ 'team-*': 'edit', 'team-secret-*': 'view' }), tails), 'team-abcdefghijklmnopqrstuv');
    assert.equal(newDocID(jwt({ '.hidden-*': 'edit', 'a b*': 'edit', 'ok-*': 'edit' }), tail), 'ok-R4nd0m_tail-0123456789');
    assert.equal(newDocID(jwt({ ['p'.repeat(120) + '*']: 'edit' }), tail), null, 'no room for a random tail');
  });

  it('offers none with only exact ids, only reading, or no docs claim', () => {
    assert.equal(newDocID(jwt({ notes: 'edit', plans: 'admin' }), tail), null);
    assert.equal(newDocID(jwt({ '*': 'view', 'team-*': 'view' }), tail), null);
    assert.equal(newDocID(jwt({ 'team-*': true, 'ops-*': 'false' }), tail), null);
    assert.equal(newDocID(jwt(undefined), tail), null);
    assert.equal(newDocID('not a token', tail), null);
  });

  it('reads roles as the server does: exact id first, then the longest prefix, whose value alone decides', () => {
    const docs = { '*': 'view', 'team-*': 'edit', 'team-x*': false, 'team-notes': 'admin' };
    assert.equal(roleFor(docs, 'team-notes'), 'admin');
    assert.equal(roleFor(docs, 'team-plans'), 'edit');
    assert.equal(roleFor(docs, 'team-xyz'), '');
    assert.equal(roleFor(docs, 'other'), 'view');
    assert.equal(roleFor({}, 'other'), '');
  });
});
