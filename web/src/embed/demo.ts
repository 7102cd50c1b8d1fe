// /embed-demo: the same document embedded three ways, with the events
// each embed reports.

import type { CowriteHandle, FrameMessage, MountOptions } from './types.js';

const doc = new URLSearchParams(location.search).get('doc') ?? 'embed-demo';
const origin = location.origin;
const log = document.getElementById('demo-log') as HTMLOListElement;

function record(tag: string, type: string, detail: unknown): void {
  const li = document.createElement('li');
  const t = document.createElement('span');
  t.className = 'tag';
  t.textContent = tag;
  li.append(t, ` ${type} ${summary(type, detail)}`);
  log.prepend(li);
  while (log.children.length > 80) log.lastElementChild?.remove();
}

function summary(type: string, detail: unknown): string {
  const d = detail as Record<string, unknown>;
  switch (type) {
    case 'status':
      return `${String(d.state)}${d.pending ? `, ${String(d.pending)} pending` : ''}`;
    case 'change':
      return `${String(d.source)}, length ${String(d.length)}`;
    case 'presence':
      return ((d.users as { name: string }[]) ?? []).map((u) => u.name).join(', ') || 'nobody else';
    case 'ready':
      return `length ${String(d.length)}`;
    default:
      return JSON.stringify(detail).slice(0, 160);
  }
}

function setCode(id: string, text: string): void {
  (document.getElementById(id) as HTMLElement).textContent = text;
}

const events = ['ready', 'change', 'status', 'presence', 'error'] as const;

function watch(tag: string, h: CowriteHandle): void {
  for (const e of events) h.on(e, (detail) => record(tag, e, detail));
}

function scriptEmbed(): void {
  setCode(
    'code-script',
    `<script src="${origin}/embed.js"></script>\n` +
      `Cowrite.mount(el, {\n  server: "${origin}", doc: "${doc}",\n  user: {name: "Script visitor", color: "#2f6f9f"}\n})`,
  );
  const s = document.createElement('script');
  s.src = '/embed.js';
  s.onload = () => {
    const Cowrite = (window as unknown as { Cowrite: { mount(el: HTMLElement, o: MountOptions): CowriteHandle } }).Cowrite;
    const h = Cowrite.mount(document.getElementById('demo-script') as HTMLElement, {
      server: origin,
      doc,
      user: { name: 'Script visitor', color: '#2f6f9f' },
    });
    watch('script', h);
  };
  document.head.append(s);
}

function frameEmbed(): void {
  const src = `${origin}/embed/${encodeURIComponent(doc)}?name=${encodeURIComponent('Frame visitor')}&color=${encodeURIComponent('#c2410c')}`;
  setCode(
    'code-frame',
    `<iframe src="${src}"></iframe>\n` +
      `addEventListener("message", (e) => {\n  if (e.origin === "${origin}" && e.data.source === "cowrite") …\n})`,
  );
  window.addEventListener('message', (e: MessageEvent) => {
    const m = e.data as FrameMessage;
    if (e.origin !== origin || !m || m.source !== 'cowrite') return;
    record('iframe', m.type, m.detail);
  });
  const iframe = document.createElement('iframe');
  iframe.src = src;
  iframe.title = 'Cowrite editor';
  document.getElementById('demo-frame')!.append(iframe);
}

async function moduleEmbed(): Promise<void> {
  setCode(
    'code-module',
    `import {mount} from "${origin}/cowrite.mjs";\n` +
      `mount(el, {server: "${origin}", doc: "${doc}",\n  user: {name: "Module visitor", color: "#2f7d4f"}})`,
  );
  const url = new URL('/cowrite.mjs', location.href).href;
  const mod = (await import(url)) as { mount(el: HTMLElement, o: MountOptions): CowriteHandle };
  const h = mod.mount(document.getElementById('demo-module') as HTMLElement, {
    server: origin,
    doc,
    user: { name: 'Module visitor', color: '#2f7d4f' },
  });
  watch('module', h);
}

/** ensureDoc makes the demo document, with a line to start from, unless it exists. */
async function ensureDoc(): Promise<void> {
  try {
    await fetch('/v1/docs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        id: doc,
        title: 'Embedding demo',
        content: { ops: [{ insert: 'One document, three embeds. Type in any of them.\n' }] },
      }),
    }); // 409 when it exists: fine
  } catch {
    // Offline: the embeds say so themselves.
  }
}

void ensureDoc().then(() => {
  scriptEmbed();
  frameEmbed();
  moduleEmbed().catch((err: unknown) => record('module', 'error', String(err)));
});
