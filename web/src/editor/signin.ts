// Signing in on the editor's own pages (/ and /d/{id}): a token arrives in
// a link's fragment (https://host/d/DOC#token=JWT, never sent to the
// server), is kept in localStorage for this origin, and is taken out of
// the address bar so that it is not bookmarked or shared by accident.
// The server says whether it wants tokens (GET /v1/info); in open mode the
// page says so plainly. Everything shown is set through textContent.

import { tokenClaims, tokenExpiry } from '../client/index.js';
import { PALETTE, cleanName, validColor } from './identity.js';
import type { Identity } from './identity.js';

const tokenKey = 'cowrite.token';

/** AuthMode is what GET /v1/info says, or 'unknown' when it could not be asked (offline). */
export type AuthMode = 'open' | 'token' | 'unknown';

/** SignInReason says why the sign-in panel is shown. */
export type SignInReason = 'none' | 'expired' | 'revoked' | 'refused';

/**
 * takeTokenFromLink moves a #token= from the address into storage and
 * removes it from the address (and history entry). It returns whether
 * there was one.
 */
export function takeTokenFromLink(): boolean {
  const hash = location.hash.replace(/^#/, '');
  if (!hash) return false;
  const params = new URLSearchParams(hash);
  const token = params.get('token');
  if (token === null) return false;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  if (token.trim()) storeToken(token.trim());
  return true;
}

/** storedToken returns the token kept for this server, or '' for none. */
export function storedToken(): string {
  try {
    return localStorage.getItem(tokenKey) ?? '';
  } catch {
    return '';
  }
}

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

/** signOutButton makes the control that forgets the stored token; onSignOut runs after. */
export function signOutButton(onSignOut: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.id = 'sign-out';
  b.className = 'btn';
  b.type = 'button';
  b.textContent = 'Sign out';
  b.title = 'Forget this sign-in on this browser';
  b.addEventListener('click', () => {
    signOut();
    onSignOut();
  });
  return b;
}
