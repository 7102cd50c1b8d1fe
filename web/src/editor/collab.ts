// The collaborative editing surface: a Quill 2 editor with a toolbar and
// remote cursors, bound to a CowriteClient. The editor page and every
// embed (script, iframe, ES module) are built on it.
//
// Who does what: the client library owns the document's state, the
// protocol and recovery; this binding turns the user's edits in Quill into
// client.submit() calls, applies what the client reports (remote ops,
// resets) to Quill, and draws everyone else's caret with quill-cursors.
// Names and colours reach the DOM only through textContent and CSSOM.

import Quill from 'quill';
import QuillCursors from 'quill-cursors/core';
import Delta from 'quill-delta';

import type { Offered, Peer, Selection, Status, TokenProvider } from '../client/index.js';
import { CowriteClient } from '../client/index.js';
import { baseLength } from '../client/state.js';
import { validColor } from './identity.js';

Quill.register('modules/cursors', QuillCursors, true);

// Quill draws inline code and code blocks with one icon; a code block gets
// its own (a framed pair of brackets), so that the two buttons differ.
const icons = Quill.import('ui/icons') as Record<string, unknown>;
icons['code-block'] =
  '<svg viewBox="0 0 18 18"><rect class="ql-stroke" x="2" y="3" width="14" height="12" rx="2"/>' +
  '<polyline class="ql-stroke" points="7.5 7 5.5 9 7.5 11"/><polyline class="ql-stroke" points="10.5 7 12.5 9 10.5 11"/></svg>';

/** ToolbarSpec is Quill's toolbar configuration: groups of formats. */
export type ToolbarSpec = (string | Record<string, unknown>)[][];

/** defaultToolbar is what the editor offers: text styles, headings, lists, quote, code, link. */
export const defaultToolbar: ToolbarSpec = [
  [{ header: [1, 2, 3, false] }],
  ['bold', 'italic', 'underline', 'strike'],
  [{ list: 'ordered' }, { list: 'bullet' }],
  ['blockquote', 'code', 'code-block', 'link'],
  ['clean'],
];

/**
 * formats are the formats a document may hold: those of the toolbar (and
 * list indentation). Pasted content keeps these and drops the rest, so
 * that documents stay clean whatever they were copied from.
 */
const formats = ['header', 'bold', 'italic', 'underline', 'strike', 'list', 'indent', 'blockquote', 'code', 'code-block', 'link'];

export interface CollabOptions {
  /** server is the Cowrite server's base URL (https://host), default this page's origin. */
  server?: string;
  doc: string;
  name: string;
  color: string;
  /** token is a token, or a provider the client asks for a current one (see the client's README). */
  token?: string | TokenProvider;
  readOnly?: boolean;
  /** toolbar: true for the default toolbar, false for none, or the element to build it in. */
  toolbar?: boolean | HTMLElement;
  placeholder?: string;
  /** scrollingContainer is the element Quill keeps the caret visible in. */
  bounds?: HTMLElement;
}

/** Events a Collab emits; the embeds forward them to host pages. */
export interface CollabEvents {
  ready: { doc: string; length: number };
  change: { delta: Delta; source: 'local' | 'remote' | 'reset'; length: number };
  status: Status;
  presence: Peer[];
  error: { code: string; message: string };
  offered: Offered;
}

type Listener<K extends keyof CollabEvents> = (payload: CollabEvents[K]) => void;

/** Collab is one editor bound to one document. */
export class Collab {
  readonly quill: Quill;
  readonly client: CowriteClient;
  readonly doc: string;
  private readonly cursors: QuillCursors;
  private readonly listeners = new Map<keyof CollabEvents, Set<Listener<never>>>();
  private readonly unbind: (() => void)[] = [];
  private peers = new Map<string, Peer>();
  private readonly readOnly: boolean;
  private loaded = false;
  private destroyed = false;

  constructor(editor: HTMLElement, opts: CollabOptions) {
    this.doc = opts.doc;
    this.readOnly = !!opts.readOnly;
    let toolbar: unknown = false;
    if (opts.toolbar instanceof HTMLElement) {
      // Quill fills a given container only from markup; build the groups.
      buildToolbar(opts.toolbar, defaultToolbar);
      toolbar = { container: opts.toolbar };
    } else if (opts.toolbar !== false) toolbar = defaultToolbar;
    this.quill = new Quill(editor, {
      theme: 'snow',
      readOnly: true, // until the document is loaded
      placeholder: opts.placeholder ?? (opts.readOnly ? '' : 'Start writing…'),
      formats,
      bounds: opts.bounds ?? editor,
      modules: {
        toolbar: this.readOnly ? false : toolbar,
        // Undo takes back only this user's edits, never someone else's.
        history: { userOnly: true, delay: 800 },
        cursors: { transformOnTextChange: true, hideDelayMs: 4000, hideSpeedMs: 300, selectionChangeSource: null },
      },
    });
    editor.classList.add('cw-quill');
    this.cursors = this.quill.getModule('cursors') as QuillCursors;

    this.client = new CowriteClient({
      server: opts.server ?? '',
      doc: opts.doc,
      name: opts.name,
      color: opts.color,
      token: opts.token,
      readOnly: opts.readOnly,
    });
    this.bindQuill();
    this.bindClient();
  }

  /** start connects (or opens the offline copy, from the journal). */
  start(): void {
    this.client.start().catch((err: unknown) => {
      this.emit('error', { code: 'start', message: err instanceof Error ? err.message : String(err) });
    });
  }

  on<K extends keyof CollabEvents>(event: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => set.delete(fn as Listener<never>);
  }

  private emit<K extends keyof CollabEvents>(event: K, payload: CollabEvents[K]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        (fn as Listener<K>)(payload);
      } catch (err) {
        console.error('cowrite: listener of', event, 'failed:', err);
      }
    }
  }

  /** others returns everyone else here, in the order they arrived. */
  others(): Peer[] {
    return [...this.peers.values()];
  }

  /** destroy disconnects, removes the editor's listeners and leaves the DOM to the caller. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const f of this.unbind.splice(0)) f();
    this.cursors.clearCursors();
    this.client.destroy();
    this.listeners.clear();
  }

  private bindQuill(): void {
    const onText = (delta: Delta, _old: Delta, source: string) => {
      if (source !== 'user' || !this.loaded) return;
      // A Quill document always ends with a newline, and line formats (a
      // heading, a list) live on it. A document that does not end with one
      // (made through the API, or empty) shows Quill's own; when an edit
      // reaches it, the document gets it first, so that the edit fits.
      const doc = this.client.document;
      const len = doc.length();
      if (baseLength(delta) > len && !endsWithNewline(doc)) {
        this.client.submit(new Delta().retain(len).insert('\n'));
      }
      this.client.submit(delta);
      this.emit('change', { delta, source: 'local', length: this.quill.getLength() });
    };
    const onSelection = (range: { index: number; length: number } | null, _old: unknown, source: string) => {
      if (!this.loaded || source === 'silent') return;
      this.client.setPresence(range ? { index: range.index, length: range.length } : null);
    };
    this.quill.on('text-change', onText);
    this.quill.on('selection-change', onSelection);
    // Quill reports no selection change when text moves the caret; keep
    // presence exact after every local edit.
    const afterEdit = (_d: Delta, _o: Delta, source: string) => {
      if (source !== 'user' || !this.loaded) return;
      const r = this.quill.getSelection();
      if (r) this.client.setPresence({ index: r.index, length: r.length });
    };
    this.quill.on('text-change', afterEdit);
    this.unbind.push(() => {
      this.quill.off('text-change', onText);
      this.quill.off('text-change', afterEdit);
      this.quill.off('selection-change', onSelection);
    });
  }

  private bindClient(): void {
    const c = this.client;
    this.unbind.push(
      c.on('ready', (doc) => this.load('ready', doc)),
      c.on('reset', (e) => {
        this.load('reset', e.doc);
        if (e.offered) this.emit('offered', e.offered);
      }),
      c.on('remote', (delta) => {
        if (!this.loaded) return;
        this.keepFocusWhereItIs();
        this.quill.updateContents(delta, 'api');
        this.emit('change', { delta, source: 'remote', length: this.quill.getLength() });
      }),
      c.on('status', (s) => {
        if (this.loaded) this.quill.enable(!this.readOnly && s.access !== 'view');
        this.emit('status', s);
      }),
      c.on('presence', (p) => this.showPeer(p)),
      c.on('leave', (id) => {
        this.peers.delete(id);
        this.cursors.removeCursor(id);
        this.emit('presence', this.others());
      }),
      c.on('error', (e) => {
        if (e.offered) this.emit('offered', e.offered);
        this.emit('error', { code: e.code, message: e.message });
      }),
    );
  }

  /**
   * keepFocusWhereItIs stops Quill from taking the focus back when it
   * changes the document while the user is elsewhere (a field of the host
   * page, another frame): Quill restores the page's selection if it is
   * still inside the editor, and focuses the editor to do so. Without
   * focus, that selection is stale; it is dropped.
   */
  private keepFocusWhereItIs(): void {
    if (this.quill.hasFocus()) return;
    const sel = document.getSelection();
    if (sel && sel.rangeCount > 0 && sel.anchorNode && this.quill.root.contains(sel.anchorNode)) sel.removeAllRanges();
  }

  /** load shows the client's document in Quill, after the first load or a reset. */
  private load(why: 'ready' | 'reset', doc: Delta): void {
    const wasLoaded = this.loaded;
    this.keepFocusWhereItIs();
    const sel = this.quill.getSelection();
    this.quill.setContents(doc, 'api');
    this.quill.history.clear();
    if (sel) this.quill.setSelection(Math.min(sel.index, this.quill.getLength() - 1), 0, 'silent');
    this.loaded = true;
    const editable = !this.readOnly && this.client.status.access !== 'view';
    this.quill.enable(editable);
    if (why === 'ready' && !wasLoaded) this.emit('ready', { doc: this.doc, length: this.quill.getLength() });
    else this.emit('change', { delta: doc, source: 'reset', length: this.quill.getLength() });
  }

  private showPeer(p: Peer): void {
    const before = this.peers.get(p.client);
    this.peers.set(p.client, p);
    if (before && (before.name !== p.name || before.color !== p.color)) this.cursors.removeCursor(p.client);
    this.cursors.createCursor(p.client, p.name || 'Someone', safeColor(p.color));
    if (p.sel) {
      const len = this.quill.getLength();
      const index = Math.min(p.sel.index, len - 1);
      this.cursors.moveCursor(p.client, { index, length: Math.min(p.sel.length, len - 1 - index) });
      this.cursors.toggleFlag(p.client, true);
    } else {
      this.cursors.removeCursor(p.client);
    }
    this.emit('presence', this.others());
  }
}

export type { Peer, Selection, Status };

function endsWithNewline(d: Delta): boolean {
  const last = d.ops[d.ops.length - 1];
  return !!last && typeof last.insert === 'string' && last.insert.endsWith('\n');
}

/** safeColor passes a "#rrggbb" colour and replaces anything else with grey. */
export function safeColor(c: string | undefined): string {
  return validColor(c) ? c : '#6b7380';
}

/**
 * buildToolbar fills container with Quill's toolbar markup for spec:
 * span.ql-formats groups of buttons and selects that Quill wires up.
 */
function buildToolbar(container: HTMLElement, spec: ToolbarSpec): void {
  const labels: Record<string, string> = {
    bold: 'Bold', italic: 'Italic', underline: 'Underline', strike: 'Strikethrough',
    blockquote: 'Quote', code: 'Inline code', 'code-block': 'Code block', link: 'Link', clean: 'Clear formatting',
    'list:ordered': 'Numbered list', 'list:bullet': 'Bulleted list', header: 'Text style',
  };
  const button = (format: string, label: string, value?: unknown) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'ql-' + format;
    if (value !== undefined) b.value = String(value);
    b.setAttribute('aria-label', label);
    b.title = label;
    return b;
  };
  container.replaceChildren();
  for (const group of spec) {
    const span = document.createElement('span');
    span.className = 'ql-formats';
    for (const item of group) {
      if (typeof item === 'string') {
        span.append(button(item, labels[item] ?? item));
        continue;
      }
      const [format, value] = Object.entries(item)[0];
      if (Array.isArray(value)) {
        const select = document.createElement('select');
        select.className = 'ql-' + format;
        select.setAttribute('aria-label', labels[format] ?? format);
        for (const v of value) {
          const o = document.createElement('option');
          if (v === false) o.selected = true;
          else o.value = String(v);
          select.append(o);
        }
        span.append(select);
      } else {
        span.append(button(format, labels[`${format}:${String(value)}`] ?? format, value));
      }
    }
    container.append(span);
  }
}
