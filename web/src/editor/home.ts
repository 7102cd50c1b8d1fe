// The home page: the documents on this server, and a button that makes a
// new one.

import { loadIdentity, showMe } from './identity.js';
import { registerServiceWorker } from './offline.js';
import { authMode, bearer, expired, newDocID, openBanner, signInPanel, signOutButton, storedToken, takeTokenFromLink, tokenIdentity } from './signin.js';
import type { SignInReason } from './signin.js';

interface DocInfo {
  id: string;
  title: string;
  rev: number;
  created: string;
  updated: string;
}

const state = document.getElementById('doc-state') as HTMLElement;
const list = document.getElementById('doc-list') as HTMLUListElement;

function docIcon(): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (const d of ['M7 3h7l5 5v13H7z', 'M14 3v5h5', 'M10 13h6M10 17h6']) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** ago says how long ago t was, in words. */
export function ago(t: Date, now = Date.now()): string {
  const s = (t.getTime() - now) / 1000;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 31557600], ['month', 2629800], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60],
  ];
  for (const [unit, secs] of units) {
    if (Math.abs(s) >= secs) return relative.format(Math.round(s / secs), unit);
  }
  return 'just now';
}

function render(docs: DocInfo[]): void {
  docs.sort((a, b) => Date.parse(b.updated) - Date.parse(a.updated));
  list.replaceChildren();
  for (const d of docs) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.className = 'doc-link';
    a.href = '/d/' + encodeURIComponent(d.id);
    const icon = document.createElement('span');
    icon.className = 'doc-icon';
    icon.append(docIcon());
    const main = document.createElement('span');
    main.className = 'doc-main';
    const name = document.createElement('span');
    name.className = 'doc-name' + (d.title ? '' : ' untitled');
    name.textContent = d.title || 'Untitled document';
    const id = document.createElement('span');
    id.className = 'doc-id';
    id.textContent = d.id;
    main.append(name, id);
    const meta = document.createElement('span');
    meta.className = 'doc-meta';
    const updated = new Date(d.updated);
    meta.textContent = Number.isNaN(updated.getTime()) ? '' : 'Edited ' + ago(updated);
    meta.title = `${d.rev} ${d.rev === 1 ? 'edit' : 'edits'}`;
    a.append(icon, main, meta);
    li.append(a);
    list.append(li);
  }
  list.hidden = docs.length === 0;
  state.hidden = docs.length > 0;
  state.classList.remove('error');
  const canStart = !(document.getElementById('new-doc') as HTMLButtonElement | null)?.disabled;
  state.textContent = canStart ? 'No documents yet. Start one with New document.' : 'No documents yet.';
}

/** showSignIn puts the sign-in panel where the document list was. */
function showSignIn(reason: SignInReason): void {
  document.getElementById('signin')?.remove();
  document.querySelector<HTMLElement>('.home-head')!.hidden = true;
  list.hidden = true;
  state.hidden = true;
  const panel = signInPanel(reason, () => location.reload());
  document.querySelector('.home')!.prepend(panel);
}

async function loadDocs(): Promise<void> {
  try {
    const res = await fetch('/v1/docs', { headers: { Accept: 'application/json', ...bearer() } });
    if (res.status === 401) {
      const t = storedToken();
      showSignIn(!t ? 'none' : expired(t) ? 'expired' : 'refused');
      return;
    }
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    const body = (await res.json()) as { docs?: DocInfo[] };
    render(body.docs ?? []);
  } catch (err) {
    list.hidden = true;
    state.hidden = false;
    state.classList.add('error');
    state.textContent = navigator.onLine
      ? `Could not load the documents (${err instanceof Error ? err.message : String(err)}).`
      : 'You are offline. Documents you opened before still open from their links.';
  }
}

/**
 * createToken is the token "New document" creates with: '' in open mode,
 * where the server names the document.
 */
let createToken = '';

/** createDoc makes a document; id '' lets the server name it. */
async function createDoc(title: string, id: string): Promise<string> {
  const res = await fetch('/v1/docs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer() },
    // Quill documents end with a newline; starting with one keeps every
    // editor's line formats inside the document.
    body: JSON.stringify({ ...(id ? { id } : {}), title, content: { ops: [{ insert: '\n' }] } }),
  });
  if (!res.ok) {
    let msg = `the server answered ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { message?: string } };
      if (body.error?.message) msg = body.error.message;
    } catch {
      // not JSON; keep the status
    }
    throw new Error(msg);
  }
  return ((await res.json()) as DocInfo).id;
}

function setupNew(): void {
  const dialog = document.getElementById('new-dialog') as HTMLDialogElement;
  const form = document.getElementById('new-form') as HTMLFormElement;
  const title = document.getElementById('new-title') as HTMLInputElement;
  const error = document.getElementById('new-error') as HTMLElement;
  document.getElementById('new-doc')!.addEventListener('click', () => {
    title.value = '';
    error.hidden = true;
    dialog.showModal();
    title.focus();
  });
  form.addEventListener('submit', async (e) => {
    const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
    if (submitter?.value === 'cancel') return; // the dialog closes itself
    e.preventDefault();
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => (b.disabled = true));
    try {
      // With a token limited to some ids ("team-*"), an id it may create.
      const want = newDocID(createToken);
      if (want === null) throw new Error('your sign-in does not let you start documents');
      const id = await createDoc(title.value.trim(), want);
      location.assign('/d/' + encodeURIComponent(id));
    } catch (err) {
      error.textContent = `Could not create the document: ${err instanceof Error ? err.message : String(err)}`;
      error.hidden = false;
      buttons.forEach((b) => (b.disabled = false));
    }
  });
}

async function main(): Promise<void> {
  registerServiceWorker();
  takeTokenFromLink();
  setupNew();
  const mode = await authMode();
  const token = storedToken();
  if (mode === 'open') document.querySelector('.topbar')!.after(openBanner());
  if (mode === 'token' || (mode === 'unknown' && token)) {
    if (token) document.getElementById('me')!.after(signOutButton(() => location.reload()));
    if (!token || (mode === 'token' && expired(token))) {
      showSignIn(token ? 'expired' : 'none');
      return;
    }
    showMe(tokenIdentity(token), null);
    createToken = token;
    const intro = document.querySelector('.home-head .muted')!;
    intro.textContent = 'The documents your sign-in lets you open. Open one to write together in real time.';
    if (newDocID(token) === null) {
      // Only named documents: nothing to start here.
      const button = document.getElementById('new-doc') as HTMLButtonElement;
      button.disabled = true;
      button.title = 'Your sign-in opens the documents it names, and cannot start new ones.';
      intro.textContent += ' Your sign-in cannot start new documents.';
    }
  } else {
    // The name is asked for when a document is opened; here it only shows.
    const id = loadIdentity();
    if (id) showMe(id, () => {});
  }
  await loadDocs();
}

void main();
