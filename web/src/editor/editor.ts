// The editor page, /d/{id}: the document's title, a status indicator,
// who is here, a copy-link button, and the collaborative editor.

import { Collab, safeColor } from './collab.js';
import type { Peer, Status } from './collab.js';
import { installBeforeUnloadGuard } from '../client/index.js';
import { askIdentity, initials, loadIdentity, showMe } from './identity.js';
import type { Identity } from './identity.js';
import { registerServiceWorker } from './offline.js';
import { authMode, expired, openBanner, signInPanel, signOutButton, storedToken, takeTokenFromLink, tokenIdentity } from './signin.js';
import type { SignInReason } from './signin.js';

const titlesKey = 'cowrite.titles';

/** docFromPage returns the document id: from the page, or from the URL when the page is the offline shell. */
function docFromPage(): string {
  const fromPage = document.body.dataset.doc;
  if (fromPage) return fromPage;
  const m = /^\/d\/([^/]+)$/.exec(location.pathname);
  return m ? decodeURIComponent(m[1]) : '';
}

/** rememberTitle keeps the titles of opened documents, for the offline shell. */
function rememberTitle(doc: string, title: string): string {
  try {
    const titles = JSON.parse(localStorage.getItem(titlesKey) ?? '{}') as Record<string, string>;
    if (document.body.dataset.shell === '1') return titles[doc] ?? '';
    if (titles[doc] !== title) {
      titles[doc] = title;
      localStorage.setItem(titlesKey, JSON.stringify(titles));
    }
  } catch {
    // No storage: the shell shows the id.
  }
  return title;
}

/** statusText is what the status indicator reads. */
export function statusText(s: Status): string {
  switch (s.state) {
    case 'connecting':
      return 'Connecting…';
    case 'saved':
      return 'Saved';
    case 'saving':
      return 'Saving…';
    case 'offline':
      if (s.pending === 0) return 'Offline';
      return `Offline, ${s.pending} ${s.pending === 1 ? 'change' : 'changes'} pending`;
    case 'read-only':
      return 'Read only';
    case 'error':
      // Sign-in stops are explained by the sign-in panel; the status only names them.
      if (s.code === 'token_expired') return 'Sign-in expired';
      if (s.code === 'revoked') return 'Access withdrawn';
      if (s.code === 'unauthorized') return 'Not signed in';
      if (s.code === 'user_changed') return 'Signed in as someone else';
      return s.message ? `Error: ${s.message}` : 'Error';
    default:
      return String(s.state);
  }
}

function showStatus(s: Status): void {
  const el = document.getElementById('status')!;
  el.dataset.state = s.state;
  el.querySelector('.status-label')!.textContent = statusText(s);
  el.title = s.message ?? '';
}

/** avatar makes a presence entry: initials on the user's colour, the name for tooltips and screen readers. */
function avatar(name: string, color: string, you = false): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'presence-user';
  li.dataset.name = name;
  const a = document.createElement('span');
  a.className = 'avatar';
  a.textContent = initials(name);
  a.style.setProperty('--c', safeColor(color));
  li.title = you ? `${name} (you)` : name;
  const label = document.createElement('span');
  label.className = 'visually-hidden presence-name';
  label.textContent = you ? `${name} (you)` : name;
  li.append(a, label);
  return li;
}

const maxAvatars = 5;

function showPresence(me: Identity, peers: Peer[]): void {
  const bar = document.getElementById('presence')!;
  const items = [avatar(me.name, me.color, true)];
  for (const p of peers) items.push(avatar(p.name || 'Someone', p.color));
  if (items.length > maxAvatars) {
    const hidden = items.splice(maxAvatars - 1);
    const more = document.createElement('li');
    more.className = 'presence-more';
    const a = document.createElement('span');
    a.className = 'avatar more';
    a.textContent = `+${hidden.length}`;
    more.title = hidden.map((li) => li.dataset.name).join(', ');
    more.append(a);
    items.push(more, ...hidden.map((li) => ((li.hidden = true), li)));
  }
  bar.replaceChildren(...items);
  bar.setAttribute('aria-label', `${peers.length + 1} ${peers.length === 0 ? 'person' : 'people'} here`);
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;

function toast(text: string): void {
  const el = document.getElementById('toast')!;
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 2200);
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (an insecure context, or permission refused).
    const input = document.createElement('textarea');
    input.value = text;
    input.setAttribute('readonly', '');
    input.className = 'visually-hidden';
    document.body.append(input);
    input.select();
    const ok = document.execCommand('copy');
    input.remove();
    return ok;
  }
}

/** offerBack shows edits that could not be saved, so the user can copy them. */
function offerBack(reason: string, text: string): void {
  const n = document.getElementById('notice')!;
  n.querySelector('.notice-title')!.textContent = 'Some edits could not be saved.';
  n.querySelector('.notice-text')!.textContent = reason;
  const detail = n.querySelector<HTMLElement>('.notice-detail')!;
  detail.textContent = text;
  detail.hidden = !text;
  const copy = n.querySelector<HTMLButtonElement>('.notice-copy')!;
  copy.hidden = !text;
  copy.onclick = async () => toast((await copyText(text)) ? 'Text copied' : 'Could not copy');
  n.querySelector<HTMLButtonElement>('.notice-close')!.onclick = () => (n.hidden = true);
  n.hidden = false;
}

/** reasonOf maps a stopped client's status code to what the sign-in panel says, or null for other stops. */
function reasonOf(code: string | undefined): SignInReason | null {
  switch (code) {
    case 'token_expired':
      return 'expired';
    case 'revoked':
      return 'revoked';
    case 'unauthorized':
      // A token kept from before that has simply run out (the page was
      // opened offline, or left open) was refused for that.
      return expired(storedToken()) ? 'expired' : 'refused';
    default:
      return null;
  }
}

/**
 * showSignIn puts the sign-in panel on the page. Without an editor
 * (nothing to show yet) it takes the editor's place; over one (the
 * sign-in ended mid-session) it goes above the text, which stays in view.
 */
function showSignIn(reason: SignInReason, overEditor: boolean): void {
  document.getElementById('signin')?.remove();
  const panel = signInPanel(reason, () => location.reload());
  if (!overEditor) {
    for (const sel of ['#status', '#presence', '#copy-link', '.toolbar-wrap', '.paper-wrap']) {
      const el = document.querySelector<HTMLElement>(sel);
      if (el) el.hidden = true;
    }
  }
  document.querySelector('.paper-wrap')!.before(panel);
  panel.querySelector('input')?.focus();
}

async function main(): Promise<void> {
  registerServiceWorker();
  takeTokenFromLink();
  const doc = docFromPage();
  const titleEl = document.getElementById('doc-title')!;
  const title = rememberTitle(doc, document.body.dataset.title ?? '');
  titleEl.textContent = title || doc || 'Untitled document';
  titleEl.title = doc;
  document.title = `${title || doc} · Cowrite`;

  document.getElementById('copy-link')!.addEventListener('click', async () => {
    toast((await copyText(location.href)) ? 'Link copied' : 'Could not copy the link');
  });

  // Offline, the mode is unknown: a stored token is used, and without one
  // the page goes on as in open mode (the journal still shows the document).
  const mode = await authMode();
  const token = storedToken();
  const topbar = document.querySelector('.topbar')!;
  if (mode === 'open') topbar.after(openBanner());
  const withToken = mode === 'token' || (mode === 'unknown' && token !== '');
  // Signing out says first what happens to edits not yet saved; then the
  // page need not ask again as it goes.
  let unguard = () => {};
  if (withToken) {
    if (token) document.getElementById('me')!.after(signOutButton(() => {
      unguard();
      location.reload();
    }));
    if (!token || (mode === 'token' && expired(token))) {
      showSignIn(token ? 'expired' : 'none', false);
      return;
    }
  }

  let me: Identity;
  if (withToken) {
    me = tokenIdentity(token);
    showMe(me, null); // the server names the user from the token
  } else {
    const known = loadIdentity() ?? (await askIdentity(null));
    if (!known) return; // cannot happen: the first dialog cannot be dismissed
    me = known;
    showMe(me, () => {
      // The name goes to the others in hello: reconnect to announce it.
      // Unsent edits are journalled, so a reload loses nothing.
      location.reload();
    });
  }
  const collab = new Collab(document.getElementById('editor')!, {
    doc,
    name: me.name,
    color: me.color,
    // The stored token, read again at every hello and refresh: a link
    // opened in another tab signs this one in again too.
    token: withToken ? () => storedToken() : undefined,
    toolbar: document.getElementById('toolbar')!,
    bounds: document.querySelector<HTMLElement>('.paper')!,
  });
  showPresence(me, []);
  unguard = installBeforeUnloadGuard(collab.client);
  collab.on('status', (s) => {
    showStatus(s);
    const reason = s.state === 'error' ? reasonOf(s.code) : null;
    if (reason) {
      // The client has stopped: what was typed stays in view, and in the
      // journal, which the next signed-in page delivers.
      collab.quill.enable(false);
      unguard();
      showSignIn(reason, collab.client.status.pending > 0 || collab.quill.getLength() > 1);
    }
  });
  collab.on('presence', (peers) => showPresence(me, peers));
  collab.on('offered', (o) => offerBack(o.reason, o.text));
  collab.on('ready', () => collab.quill.focus());
  // For the console, and for the browser tests.
  (window as unknown as { cowriteEditor: unknown }).cowriteEditor = { collab, quill: collab.quill, client: collab.client };
  collab.start();
}

void main();
