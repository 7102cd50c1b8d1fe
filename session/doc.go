// Package session is live collaboration, independent of the transport:
// rooms (one per open document), the wire protocol and its codec, presence,
// reconnect and catch-up. It declares the Store and Conn interfaces it
// needs; persist and web satisfy them without session importing either.
package session
