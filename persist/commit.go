package persist

import (
	"context"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// Group commit. Every write of the store (Append, Create, SaveSnapshot and
// the steps of Delete) is a request to one committer goroutine. The
// committer takes every request that is waiting, from any document, applies
// as many as fit into one Badger transaction, commits it with one sync and
// answers each of them; the requests that arrive during that sync make the
// next batch. Nothing waits on a timer: a lone request is committed at once,
// and under load the batches grow by themselves.
//
// Because the committer is the only writer, the checks a request makes
// (does the document exist, is prev still the last revision) read the
// committed state plus the writes of the requests before it in the same
// transaction, and transactions never conflict.

// maxBatchRequests bounds the requests the committer takes at once, and the
// requests that may wait for it.
const maxBatchRequests = 1024

// entry is one key to set, or to delete when del is true.
type entry struct {
	key, value []byte
	del        bool
}

// Request states: a request is pending until the committer takes it or its
// caller gives up on it, whichever comes first.
const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

// request is one write handed to the committer.
type request struct {
	// apply reads what it needs through w and returns what to write, or
	// an error that fails the request and writes nothing. It must not
	// write to w.txn itself, and may run more than once (in a new
	// transaction when the first was full). Its change must declare every
	// metadata and client record it writes (or forget the document), for
	// the committer's memory: see cache.go.
	apply func(w *wtxn) (*change, error)
	ops   int // ops appended, for Stats; -1 for a request that is no Append

	state atomic.Int32
	done  chan error
}

// submit hands r to the committer and waits for its outcome. When ctx ends
// before the committer takes r, r is dropped and submit returns ctx's
// error; once taken, submit reports what happened to it.
func (s *Store) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.done = make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err()
		}
		return <-r.done
	}
}

// commitLoop is the committer. It runs until Close, and then commits the
// requests that were handed over before Close.
func (s *Store) commitLoop() {
	defer s.wg.Done()
	batch := make([]*request, 0, maxBatchRequests)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.quit:
			// Close has set closed, so no more requests can arrive: the
			// channel holds the last of them.
			for {
				batch = s.take(batch[:0])
				if len(batch) == 0 {
					return
				}
				s.commit(batch)
			}
		}
		s.commit(s.take(batch))
	}
}

// take appends the requests that are waiting, without blocking.
func (s *Store) take(batch []*request) []*request {
	for len(batch) < maxBatchRequests {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit applies and commits batch in as few transactions as it fits in,
// in order, and answers every request.
func (s *Store) commit(batch []*request) {
	todo := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			todo = append(todo, r)
		}
	}
	for len(todo) > 0 {
		todo = s.commitTxn(todo)
	}
}

// commitTxn applies requests from the front of reqs in one transaction,
// commits it and answers them. It returns the requests still to do: those
// that did not fit, or that must be applied again because the transaction
// was abandoned.
func (s *Store) commitTxn(reqs []*request) (rest []*request) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	w := newWtxn(txn, s.cache)
	var members, failed []*request
	var failures []error
	// A request that fails may have read the writes of members (a Create
	// finds the document that an earlier Create in this transaction made):
	// it is answered after the commit, never before the state it saw is
	// durable.
	fail := func(r *request, err error) {
		failed = append(failed, r)
		failures = append(failures, err)
	}
	var count, size int64
	for i, r := range reqs {
		ch, err := r.apply(w)
		if err != nil {
			fail(r, err)
			continue
		}
		c, sz, ok := s.cost(ch.ents)
		if !ok || !s.fits(c, sz) {
			fail(r, ErrTooBig)
			continue
		}
		if !s.fits(count+c, size+sz) {
			// Full: commit what it holds, and apply r again in the next
			// transaction, where it reads the state this one leaves.
			rest = reqs[i:]
			break
		}
		if err := stage(txn, ch.ents); err != nil {
			// The transaction holds part of r. Abandon it: fail r, and
			// apply the others, failed ones too, again in a new one.
			r.done <- storageErr(err)
			return append(reqs[:i:i], reqs[i+1:]...)
		}
		w.accept(ch)
		count, size = count+c, size+sz
		members = append(members, r)
	}
	var err error
	if len(members) > 0 {
		err = storageErr(txn.Commit())
		w.committed(err == nil)
	}
	if err == nil && len(members) > 0 {
		s.commits.Add(1)
		s.writes.Add(uint64(len(members)))
	}
	for _, r := range members {
		if err == nil && r.ops >= 0 {
			s.appends.Add(1)
			s.ops.Add(uint64(r.ops))
		}
		r.done <- err
	}
	for i, r := range failed {
		if err != nil {
			// What it read did not become durable.
			r.done <- err
			continue
		}
		r.done <- failures[i]
	}
	return rest
}

// stage writes ents into txn.
func stage(txn *badger.Txn, ents []entry) error {
	for _, e := range ents {
		var err error
		if e.del {
			err = txn.Delete(e.key)
		} else {
			err = txn.Set(e.key, e.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// cost returns what ents count against a transaction's limits, as Badger
// counts it: the key, the value (or a 12-byte pointer for a value kept in
// the value log), two bytes of metadata and ten of version. ok is false
// when a value is larger than a value-log file.
func (s *Store) cost(ents []entry) (count, size int64, ok bool) {
	for _, e := range ents {
		v := int64(len(e.value))
		if v > s.opts.ValueLogFileSize {
			return 0, 0, false
		}
		if v >= s.opts.ValueThreshold {
			v = 12
		}
		count++
		size += int64(len(e.key)) + v + 2 + 10
	}
	return count, size, true
}

// fits reports whether a transaction of count entries and size bytes stays
// within Badger's limits.
func (s *Store) fits(count, size int64) bool {
	return count <= s.maxCount && size < s.maxSize
}
