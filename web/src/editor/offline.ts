// Registration of the service worker (src/sw.ts), which keeps the
// editor's pages and bundles loadable without a network.

/**
 * registerServiceWorker registers /sw.js for the whole site. It is safe to
 * call on every page load; browsers without service workers (or pages not
 * in a secure context) simply go without offline loading.
 */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err: unknown) => {
    console.warn('cowrite: service worker not registered:', err);
  });
}
