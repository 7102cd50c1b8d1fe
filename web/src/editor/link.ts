// The token of a sign-in link: https://host/d/DOC#token=JWT (or
// /embed/DOC#token=JWT). The fragment is never sent to the server; the
// token is taken out of the address at once, so that it is not bookmarked
// or shared by accident.

/**
 * linkToken takes a #token= out of the address (and its history entry)
 * and returns it, trimmed, or null when the address has none.
 */
export function linkToken(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (token === null) return null;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  return token.trim();
}
