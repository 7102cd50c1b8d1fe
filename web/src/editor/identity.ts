// The user's name and colour in open mode: asked once in a small dialog
// and remembered in localStorage. With tokens the server names the user
// from the token (signin.ts), and the page only shows that name.

export interface Identity {
  name: string;
  color: string;
}

/** PALETTE is the colours a user can pick: distinct, calm, readable under white text. */
export const PALETTE: readonly string[] = [
  '#2f6f9f', // blue
  '#c2410c', // rust
  '#2f7d4f', // green
  '#7c3aed', // violet
  '#be185d', // raspberry
  '#0e7490', // teal
  '#a16207', // ochre
  '#4338ca', // indigo
];

const storageKey = 'cowrite.identity';

/** maxName is the longest name kept, in code points (the protocol allows 64). */
export const maxName = 40;

const colorPattern = /^#[0-9a-fA-F]{6}$/;

/** cleanName trims a name and cuts it to maxName code points. */
export function cleanName(name: string): string {
  return Array.from(name.trim().replace(/\s+/g, ' ')).slice(0, maxName).join('');
}

/** validColor reports whether c is a "#rrggbb" colour, the only form the protocol takes. */
export function validColor(c: unknown): c is string {
  return typeof c === 'string' && colorPattern.test(c);
}

/** loadIdentity returns the remembered identity, or null when there is none. */
export function loadIdentity(): Identity | null {
  try {
    const raw = localStorage.getItem(storageKey);
    if (!raw) return null;
    const v = JSON.parse(raw) as Partial<Identity>;
    const name = typeof v.name === 'string' ? cleanName(v.name) : '';
    if (!name || !validColor(v.color)) return null;
    return { name, color: v.color };
  } catch {
    return null; // storage disabled, or garbage in it
  }
}

/** saveIdentity remembers id for the next page. */
export function saveIdentity(id: Identity): void {
  try {
    localStorage.setItem(storageKey, JSON.stringify(id));
  } catch {
    // Storage disabled: the identity lasts for this page only.
  }
}

/** randomColor picks a colour from the palette. */
export function randomColor(): string {
  const i = crypto.getRandomValues(new Uint32Array(1))[0] % PALETTE.length;
  return PALETTE[i];
}

/** initials returns up to two letters that stand for a name. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = (w: string | undefined) => (w ? Array.from(w)[0] : '');
  if (words.length === 0) return '?';
  if (words.length === 1) return Array.from(words[0]).slice(0, 2).join('');
  return first(words[0]) + first(words[words.length - 1]);
}

/**
 * askIdentity shows the identity dialog (the page's #identity-dialog) and
 * resolves with what the user chose, saved. With cancellable false the
 * dialog cannot be dismissed without a name.
 */
export function askIdentity(current: Identity | null, cancellable = false): Promise<Identity | null> {
  const dialog = document.getElementById('identity-dialog') as HTMLDialogElement;
  const form = document.getElementById('identity-form') as HTMLFormElement;
  const nameInput = document.getElementById('identity-name') as HTMLInputElement;
  const colors = document.getElementById('identity-colors') as HTMLElement;

  const chosen = current?.color && validColor(current.color) ? current.color : randomColor();
  colors.replaceChildren();
  const palette = PALETTE.includes(chosen) ? PALETTE : [chosen, ...PALETTE];
  for (const [i, c] of palette.entries()) {
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'color';
    input.value = c;
    input.className = 'swatch';
    input.id = `identity-color-${i}`;
    input.checked = c === chosen;
    input.setAttribute('aria-label', `Colour ${i + 1}`);
    input.style.setProperty('--c', c);
    colors.append(input);
  }
  nameInput.value = current?.name ?? '';

  return new Promise((resolve) => {
    const onCancel = (e: Event) => {
      if (!cancellable) e.preventDefault();
    };
    const onSubmit = (e: SubmitEvent) => {
      e.preventDefault();
      const name = cleanName(nameInput.value);
      if (!name) {
        nameInput.focus();
        return;
      }
      const picked = colors.querySelector<HTMLInputElement>('input:checked')?.value;
      const id = { name, color: validColor(picked) ? picked : chosen };
      saveIdentity(id);
      done(id);
    };
    const onClose = () => done(null);
    const done = (id: Identity | null) => {
      dialog.removeEventListener('cancel', onCancel);
      dialog.removeEventListener('close', onClose);
      form.removeEventListener('submit', onSubmit);
      if (dialog.open) dialog.close();
      resolve(id);
    };
    dialog.addEventListener('cancel', onCancel);
    dialog.addEventListener('close', onClose);
    form.addEventListener('submit', onSubmit);
    dialog.showModal();
    nameInput.focus();
  });
}

/**
 * showMe fills the page's #me chip with the identity; clicking it asks
 * again. With onChange null the identity is the server's (from a token):
 * the chip only shows it.
 */
export function showMe(id: Identity, onChange: ((id: Identity) => void) | null): void {
  const chip = document.getElementById('me') as HTMLButtonElement | null;
  if (!chip) return;
  const paint = (who: Identity) => {
    const avatar = chip.querySelector<HTMLElement>('.avatar')!;
    avatar.textContent = initials(who.name);
    avatar.style.setProperty('--c', who.color);
    chip.querySelector('.me-name')!.textContent = who.name;
    chip.title = onChange ? `You are ${who.name}. Click to change your name or colour.` : `Signed in as ${who.name}`;
  };
  paint(id);
  chip.hidden = false;
  if (!onChange) {
    chip.classList.add('signed-in');
    chip.setAttribute('aria-disabled', 'true');
    chip.onclick = null;
    return;
  }
  chip.onclick = async () => {
    const next = await askIdentity(id, true);
    if (next && (next.name !== id.name || next.color !== id.color)) {
      id = next;
      paint(next);
      onChange(next);
    }
  };
}
