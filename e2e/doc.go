// Package e2e tests the assembled system: the real server over real sockets
// and a real Badger directory, crash and restart, a real browser, and the
// load generator.
package e2e
