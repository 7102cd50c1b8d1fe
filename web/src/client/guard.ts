// The beforeunload guard.

import type { CowriteClient } from './client.js';

/**
 * installBeforeUnloadGuard makes the browser ask before leaving the page
 * while client has unsaved edits. (They are journalled and would be sent
 * on the next visit, but the user should know.) It returns a function that
 * removes the guard.
 */
export function installBeforeUnloadGuard(client: CowriteClient, target: EventTarget = globalThis): () => void {
  const onBeforeUnload = (e: Event) => {
    if (client.status.pending === 0) return;
    e.preventDefault();
    // Older browsers show the prompt only when returnValue is set.
    try {
      (e as BeforeUnloadEvent).returnValue = '';
    } catch {
      // not settable here: preventDefault is enough
    }
  };
  target.addEventListener('beforeunload', onBeforeUnload);
  return () => target.removeEventListener('beforeunload', onBeforeUnload);
}
