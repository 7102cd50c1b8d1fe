package persist

import (
	"maps"

	"github.com/dgraph-io/badger/v4"

	"github.com/cowrite/cowrite/doc"
)

// The committer's memory. Because the committer is the only writer, it can
// remember the metadata and client records it has read or written, and an
// Append then costs no read at all: only the first append to a document
// after Open (or after the memory was dropped) reads its records. The
// memory holds committed state only; the writes of the transaction being
// built sit in an overlay that joins the memory when the commit succeeds
// and is dropped otherwise.

// Bounds of the committer's memory: past them it starts afresh.
const (
	maxCachedDocs    = 4096
	maxCachedClients = 1024 // per document
)

// docState is what the committer knows of one document.
type docState struct {
	forgotten bool      // written in ways not followed here: read the store
	meta      *doc.Meta // nil when not known
	// clients holds known client records; a zero ClientState means known
	// to be absent.
	clients map[string]doc.ClientState
}

// A change is what an applied request writes: the entries, and the
// document state they make, for the committer's memory.
type change struct {
	ents []entry
	id   string
	// meta and clients are the document's new metadata and client
	// records, when written.
	meta    *doc.Meta
	clients map[string]doc.ClientState
	// forget says that the request writes id's records in ways the memory
	// does not follow (creation, deletion); forgetAll, that it writes
	// anything at all (tests).
	forget, forgetAll bool
}

// wtxn is the committer's view while it builds a transaction: Badger's
// transaction, the memory of committed state and the overlay of this
// transaction's accepted changes.
type wtxn struct {
	txn       *badger.Txn
	cache     map[string]*docState // committed; owned by the committer
	overlay   map[string]*docState // accepted into txn
	forgetAll bool                 // a request wrote outside any document's state
}

func newWtxn(txn *badger.Txn, cache map[string]*docState) *wtxn {
	return &wtxn{txn: txn, cache: cache, overlay: map[string]*docState{}}
}

// pending returns id's state in this transaction; ok is false when the
// transaction has not written id. When it has, but in ways not followed,
// st.forgotten is set and reads go to the store, which shows the
// transaction's own writes.
func (w *wtxn) pending(id string) (st *docState, ok bool) {
	if w.forgetAll {
		return &docState{forgotten: true}, true
	}
	st, ok = w.overlay[id]
	return st, ok
}

// meta returns document id's metadata and whether it was read from the
// store rather than known.
func (w *wtxn) meta(id string) (m doc.Meta, read bool, err error) {
	st, inTxn := w.pending(id)
	forgotten := inTxn && st.forgotten
	if inTxn && !forgotten && st.meta != nil {
		return *st.meta, false, nil
	}
	if c := w.cache[id]; !forgotten && c != nil && c.meta != nil {
		return *c.meta, false, nil
	}
	m, err = readMeta(w.txn, id)
	if err != nil {
		return doc.Meta{}, true, err
	}
	if !forgotten {
		// Not written in this transaction: what was read is committed.
		w.remember(id).meta = &m
	}
	return m, true, nil
}

// client returns document id's record of client c; ok is false when there
// is none.
func (w *wtxn) client(id, c string) (cs doc.ClientState, ok bool, err error) {
	st, inTxn := w.pending(id)
	forgotten := inTxn && st.forgotten
	if inTxn && !forgotten {
		if cs, known := st.clients[c]; known {
			return cs, cs.Seq != 0, nil
		}
	}
	if st := w.cache[id]; !forgotten && st != nil {
		if cs, known := st.clients[c]; known {
			return cs, cs.Seq != 0, nil
		}
	}
	key := clientKey(id, c)
	b, ok, err := get(w.txn, key)
	if err != nil {
		return doc.ClientState{}, false, err
	}
	if ok {
		if cs, err = decodeClient(b); err != nil {
			return doc.ClientState{}, false, corrupt(key, err)
		}
	}
	if !forgotten {
		st := w.remember(id)
		if len(st.clients) >= maxCachedClients {
			clear(st.clients)
		}
		st.clients[c] = cs
	}
	return cs, ok, nil
}

// remember returns id's entry in the memory of committed state, adding it.
func (w *wtxn) remember(id string) *docState {
	st := w.cache[id]
	if st == nil {
		if len(w.cache) >= maxCachedDocs {
			clear(w.cache)
		}
		st = &docState{clients: map[string]doc.ClientState{}}
		w.cache[id] = st
	}
	return st
}

// accept adds an applied request's change to the overlay.
func (w *wtxn) accept(ch *change) {
	if ch.forgetAll {
		w.forgetAll = true
	}
	if ch.id == "" {
		return
	}
	st := w.overlay[ch.id]
	if st == nil {
		st = &docState{clients: map[string]doc.ClientState{}}
		w.overlay[ch.id] = st
	}
	if ch.forget {
		st.forgotten = true
	}
	if ch.meta != nil {
		m := *ch.meta
		st.meta = &m
	}
	maps.Copy(st.clients, ch.clients)
}

// committed folds the overlay into the memory once the transaction is
// committed, or, when ok is false, forgets what the transaction touched.
func (w *wtxn) committed(ok bool) {
	if w.forgetAll {
		clear(w.cache)
		return
	}
	for id, st := range w.overlay {
		if !ok || st.forgotten {
			delete(w.cache, id)
			continue
		}
		c := w.remember(id)
		if st.meta != nil {
			c.meta = st.meta
		}
		if len(c.clients)+len(st.clients) > maxCachedClients {
			clear(c.clients)
		}
		maps.Copy(c.clients, st.clients)
	}
}
