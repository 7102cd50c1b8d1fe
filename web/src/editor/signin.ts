// Signing in on the editor's own pages (/ and /d/{id}): a token arrives in
// a link's fragment (https://host/d/DOC#token=JWT, never sent to the
// server), is kept in localStorage for this origin, and is taken out of
// the address bar so that it is not bookmarked or shared by accident.
// The server says whether it wants tokens (GET /v1/info); in open mode the
// page says so plainly. Everything shown is set through textContent.

import { tokenClaims, tokenExpiry, unsentEdits } from '../client/index.js';
import { randomId } from '../client/claim.js';
import { DOC_ID } from '../client/client.js';
import { PALETTE, cleanName, validColor } from './identity.js';
import { linkToken } from './link.js';
import type { Identity } from './identity.js';

const tokenKey = 'cowrite.token';

/** AuthMode is what GET /v1/info says, or 'unknown' when it could not be asked (offline). */
export type AuthMode = 'open' | 'token' | 'unknown';

/** SignInReason says why the sign-in panel is shown. */
export type SignInReason = 'none' | 'expired' | 'revoked' | 'refused';

/** takeTokenFromLink moves a #token= from the address (linkToken) into storage. */
export function takeTokenFromLink(): void {
  const token = linkToken();
  if (token) storeToken(token);
}

/** storedToken returns the token kept for this server, or '' for none. */
export function storedToken(): string {
  try {
    return localStorage.getItem(tokenKey) ?? '';
  } catch {
    return '';
  }
}

/** storeToken keeps token as this server's sign-in. */
export function storeToken(token: string): void {
  try {
    localStorage.setItem(tokenKey, token);
  } catch {
    // Storage disabled: the token lasts as long as this page.
  }
}

/** signOut forgets the stored token. */
export function signOut(): void {
  try {
    localStorage.removeItem(tokenKey);
  } catch {
    // nothing kept
  }
}

/** authMode asks the server whether it checks tokens. */
export async function authMode(): Promise<AuthMode> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  try {
    const res = await fetch('/v1/info', { headers: { Accept: 'application/json' }, signal: ctl.signal, cache: 'no-store' });
    if (!res.ok) return 'unknown';
    const body = (await res.json()) as { auth?: unknown };
    return body.auth === 'open' || body.auth === 'token' ? body.auth : 'unknown';
  } catch {
    return 'unknown';
  } finally {
    clearTimeout(timer);
  }
}

/** expired reports whether a token's exp (read, not checked) has passed; a token without one never expires here. */
export function expired(token: string, now = Date.now()): boolean {
  const exp = tokenExpiry(token);
  return exp !== null && exp <= now;
}

/**
 * tokenIdentity is who a token says its user is: its name (else its
 * subject) and colour (else one derived from the subject). It reads the
 * payload without checking it: the server checks the token, and stamps the
 * same name on everything the user does.
 */
export function tokenIdentity(token: string): Identity {
  const claims = tokenClaims(token) ?? {};
  const sub = typeof claims.sub === 'string' ? claims.sub : '';
  const name = cleanName(typeof claims.name === 'string' ? claims.name : '') || cleanName(sub) || 'Signed in';
  let color = validColor(claims.color) ? claims.color : '';
  if (!color) {
    let h = 0;
    for (const ch of sub || name) h = (h * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
    color = PALETTE[h % PALETTE.length];
  }
  return { name, color };
}

/** bearer returns the Authorization header of REST calls, when a token is stored. */
export function bearer(): Record<string, string> {
  const t = storedToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

const copy: Record<SignInReason, [string, string]> = {
  none: ['Sign-in needed', 'Open the link your team gave you to use this server.'],
  expired: [
    'Your sign-in expired',
    'Open the link your team gave you again to go on. Edits not yet saved are kept in this browser and are sent once you are signed in.',
  ],
  revoked: [
    'Your access was withdrawn',
    'Ask your team for a new link. Edits not yet saved are kept in this browser and are sent once you are signed in again.',
  ],
  refused: ['This sign-in was not accepted', 'The link may be out of date, or meant for another server. Ask your team for a new one.'],
};

/**
 * signInPanel makes the panel shown instead of (or over) the editor when a
 * token is needed: what happened, what to do, and a small box to paste a
 * token into. onToken gets a pasted token, already stored.
 */
export function signInPanel(reason: SignInReason, onToken: (token: string) => void): HTMLElement {
  const panel = document.createElement('section');
  panel.id = 'signin';
  panel.className = 'signin';
  panel.dataset.reason = reason;
  panel.setAttribute('aria-labelledby', 'signin-title');
  const h = document.createElement('h2');
  h.id = 'signin-title';
  h.textContent = copy[reason][0];
  const p = document.createElement('p');
  p.className = 'signin-text';
  p.textContent = copy[reason][1];

  const form = document.createElement('form');
  form.className = 'signin-form';
  const label = document.createElement('label');
  label.className = 'field';
  const span = document.createElement('span');
  span.textContent = 'Or paste a token';
  const input = document.createElement('input');
  input.id = 'signin-token';
  input.name = 'token';
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.placeholder = 'eyJhbGciOi…';
  label.append(span, input);
  const error = document.createElement('p');
  error.className = 'form-error';
  error.hidden = true;
  const button = document.createElement('button');
  button.className = 'btn primary';
  button.type = 'submit';
  button.textContent = 'Sign in';
  form.append(label, error, button);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = input.value.trim().replace(/^.*#token=/, '');
    if (t.split('.').length !== 3) {
      error.textContent = 'That is not a token: it should look like three parts separated by dots.';
      error.hidden = false;
      return;
    }
    if (expired(t)) {
      error.textContent = 'That token has expired. Ask your team for a new link.';
      error.hidden = false;
      return;
    }
    storeToken(t);
    onToken(t);
  });
  panel.append(h, p, form);
  return panel;
}

/** openBanner makes the warning shown on every page of a server in open mode. */
export function openBanner(): HTMLElement {
  const b = document.createElement('div');
  b.id = 'open-banner';
  b.className = 'open-banner';
  b.setAttribute('role', 'note');
  b.textContent = 'Open mode: anyone who can reach this server can read and edit every document.';
  return b;
}

/**
 * signOutButton makes the control that forgets the stored token; onSignOut
 * runs after. With edits of this user not yet saved in this browser, it
 * says first that they wait for the user's next sign-in here, and signs
 * out once that is confirmed.
 */
export function signOutButton(onSignOut: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.id = 'sign-out';
  b.className = 'btn';
  b.type = 'button';
  b.textContent = 'Sign out';
  b.title = 'Forget this sign-in on this browser';
  const done = () => {
    signOut();
    onSignOut();
  };
  b.addEventListener('click', async () => {
    const token = storedToken();
    b.disabled = true;
    const n = await unsaved(token);
    b.disabled = false;
    if (n === 0) done();
    else signOutNote(n, tokenIdentity(token).name, done, () => b.focus());
  });
  return b;
}

/** unsaved counts the edits of token's user not yet saved in this browser; 0 when the journal does not answer within 2 s. */
async function unsaved(token: string): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      unsentEdits({ token }),
      new Promise<number>((resolve) => (timer = setTimeout(() => resolve(0), 2000))),
    ]);
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

/** signOutNote says, under the top bar, that n edits wait for name's next sign-in, and asks to confirm. */
function signOutNote(n: number, name: string, onConfirm: () => void, onCancel: () => void): void {
  document.getElementById('signout-note')?.remove();
  const note = document.createElement('div');
  note.id = 'signout-note';
  note.className = 'signout-note';
  note.setAttribute('role', 'alertdialog');
  note.setAttribute('aria-labelledby', 'signout-text');
  const p = document.createElement('p');
  p.id = 'signout-text';
  p.textContent = `${n} ${n === 1 ? 'edit' : 'edits'} not yet saved will be sent when you sign in again as ${name}.`;
  const ok = document.createElement('button');
  ok.id = 'sign-out-confirm';
  ok.className = 'btn';
  ok.type = 'button';
  ok.textContent = 'Sign out';
  ok.addEventListener('click', onConfirm);
  const cancel = document.createElement('button');
  cancel.className = 'btn';
  cancel.type = 'button';
  cancel.textContent = 'Stay signed in';
  cancel.addEventListener('click', () => {
    note.remove();
    onCancel();
  });
  note.append(p, ok, cancel);
  document.querySelector('.topbar')!.after(note);
  ok.focus();
}

/** grant is the role an entry of a token's docs claim grants, as the server reads it: '' for none. */
function grant(v: unknown): string {
  return v === 'view' || v === 'edit' || v === 'admin' ? v : '';
}

/** canEdit reports whether role may edit, and so create, a document. */
function canEdit(role: string): boolean {
  return role === 'edit' || role === 'admin';
}

/**
 * roleFor is the role a docs claim grants on document id, as the server
 * decides it (PROTOCOL.md, Tokens): an exact entry wins, else the longest
 * matching prefix pattern; its value alone decides.
 */
export function roleFor(docs: Record<string, unknown>, id: string): string {
  if (Object.hasOwn(docs, id)) return grant(docs[id]);
  let best = -1;
  let role = '';
  for (const [k, v] of Object.entries(docs)) {
    if (!k.endsWith('*') || !id.startsWith(k.slice(0, -1)) || k.length - 1 <= best) continue;
    best = k.length - 1;
    role = grant(v);
  }
  return role;
}

/**
 * newDocID is the id "New document" asks for with token: '' lets the
 * server pick one (no token, or a token that may edit any id, "*"), else
 * the first prefix pattern (sorted) the token may edit, with a random tail:
 * "team-" and 22 characters. It is null when the token lets its user
 * create no document (it names only exact ids, or only to read).
 */
export function newDocID(token: string, tail: () => string = randomId): string | null {
  if (!token) return '';
  const docs = tokenClaims(token)?.docs;
  if (!docs || typeof docs !== 'object' || Array.isArray(docs)) return null;
  const d = docs as Record<string, unknown>;
  if (Object.hasOwn(d, '*') && canEdit(grant(d['*']))) return '';
  const patterns = Object.keys(d).filter((k) => k.endsWith('*') && canEdit(grant(d[k]))).sort();
  for (const k of patterns) {
    const prefix = k.slice(0, -1);
    if (prefix.length > 128 - 16) continue; // too little room for a random tail
    for (let i = 0; i < 8; i++) {
      const id = prefix + tail().slice(0, 128 - prefix.length);
      // A longer pattern may take some ids of this one back ("team-x*": "view").
      if (DOC_ID.test(id) && canEdit(roleFor(d, id))) return id;
    }
  }
  return null;
}
