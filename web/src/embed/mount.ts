// mount: the embeddable editor, as embed.js (Cowrite.mount), cowrite.mjs
// (mount) and the iframe (/embed/DOC) offer it.

import { DOC_ID } from '../client/client.js';
import { Collab } from '../editor/collab.js';
import type { Status } from '../editor/collab.js';
import { randomColor, validColor, cleanName } from '../editor/identity.js';
import type { CowriteHandle, Delta, EventMap, EventName, MountOptions, State, StatusEvent } from './types.js';

/** serverBase checks a server URL and returns its origin and path, without a trailing slash. */
function serverBase(server: string): string {
  let u: URL;
  try {
    u = new URL(server, location.href);
  } catch {
    throw new Error(`cowrite: server ${JSON.stringify(server)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('cowrite: server must be an http or https URL');
  return u.origin + u.pathname.replace(/\/+$/, '');
}

const styled = new Set<string>();

/** ensureStyles adds the server's embed.css to the page once. */
function ensureStyles(base: string): void {
  const href = base + '/embed.css';
  if (styled.has(href) || document.querySelector(`link[data-cowrite-css="${CSS.escape(href)}"]`)) return;
  styled.add(href);
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = href;
  link.dataset.cowriteCss = href;
  document.head.append(link);
}

/** statusEvent turns the client's status into the public one. */
export function statusEvent(s: Status): StatusEvent {
  const e: StatusEvent = { state: s.state as State, pending: s.pending };
  if (s.message) e.message = s.message;
  if (s.code) e.code = s.code;
  return e;
}

export interface InternalMountOptions extends MountOptions {
  /** defaultServer is used when options.server is missing. */
  defaultServer?: string;
}

/** mount puts a live editor of options.doc into element. */
export function mount(element: HTMLElement, options: InternalMountOptions): CowriteHandle {
  if (!(element instanceof HTMLElement)) throw new Error('cowrite: mount needs an element');
  if (!options || typeof options.doc !== 'string' || !DOC_ID.test(options.doc)) {
    throw new Error('cowrite: doc must be 1 to 128 of A-Z a-z 0-9 . _ -, not starting with a dot');
  }
  if (options.token !== undefined && typeof options.token !== 'string' && typeof options.token !== 'function') {
    throw new Error('cowrite: token must be a string or a function that returns one');
  }
  const server = serverBase(options.server || options.defaultServer || location.origin); // "" is missing too
  if (options.css !== false) ensureStyles(server);

  const name = cleanName(options.user?.name ?? '') || 'Guest';
  const color = validColor(options.user?.color) ? options.user.color : randomColor();

  element.replaceChildren();
  element.classList.add('cowrite-embed', 'cw-editor');
  let toolbarEl: HTMLElement | false = false;
  if (options.toolbar !== false && !options.readOnly) {
    toolbarEl = document.createElement('div');
    toolbarEl.className = 'cowrite-embed-toolbar';
    element.append(toolbarEl);
  }
  const body = document.createElement('div');
  body.className = 'cowrite-embed-body';
  element.append(body);
  const editorEl = document.createElement('div');
  body.append(editorEl);

  const collab = new Collab(editorEl, {
    server,
    doc: options.doc,
    name,
    color,
    token: options.token,
    readOnly: options.readOnly,
    toolbar: toolbarEl,
    placeholder: options.placeholder,
    bounds: element,
  });

  // A click anywhere in the body, below the text too, puts the caret in.
  body.addEventListener('mousedown', (e) => {
    if (e.target === body && collab.quill.isEnabled()) {
      e.preventDefault();
      collab.quill.focus();
      collab.quill.setSelection(collab.quill.getLength() - 1, 0, 'user');
    }
  });

  type Fn = (e: never) => void;
  const listeners = new Map<EventName, Set<Fn>>();
  const emit = <K extends EventName>(event: K, payload: EventMap[K]) => {
    for (const fn of listeners.get(event) ?? []) {
      try {
        (fn as (e: EventMap[K]) => void)(payload);
      } catch (err) {
        console.error(`cowrite: ${event} listener failed:`, err);
      }
    }
  };
  collab.on('ready', (e) => emit('ready', e));
  collab.on('change', (e) => emit('change', { delta: plain(e.delta), source: e.source, length: e.length }));
  collab.on('status', (s) => emit('status', statusEvent(s)));
  collab.on('presence', (peers) =>
    emit('presence', {
      users: peers.map((p) => ({ id: p.client, name: p.name, color: p.color, selection: p.sel ? { ...p.sel } : null })),
    }),
  );
  collab.on('error', (e) => emit('error', e));
  collab.on('offered', (o) =>
    emit('error', { code: 'edits_offered_back', message: `${o.reason} Unsaved text: ${o.text}` }),
  );

  let destroyed = false;
  const handle: CowriteHandle = {
    on(event, fn) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(fn as Fn);
      return () => handle.off(event, fn);
    },
    off(event, fn) {
      listeners.get(event)?.delete(fn as Fn);
    },
    getContents: () => plain(collab.quill.getContents()),
    getText: () => collab.quill.getText(),
    focus: () => collab.quill.focus(),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      collab.destroy();
      listeners.clear();
      element.replaceChildren();
      element.classList.remove('cowrite-embed', 'cw-editor');
    },
  };
  // Listeners added right after mount returns still see the first events.
  queueMicrotask(() => collab.start());
  return handle;
}

/** plain copies a delta into a plain object, fit for postMessage and JSON. */
function plain(d: { ops: unknown[] }): Delta {
  return { ops: JSON.parse(JSON.stringify(d.ops)) as Delta['ops'] };
}
