package persist

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// A Store is Cowrite's durable store of documents in one data directory.
// Its methods are safe for concurrent use. Open one with Open and close it
// with Close.
type Store struct {
	opts Options
	log  zerolog.Logger
	db   *badger.DB
	lock *dirLock

	// Transaction limits of db, with a margin: see fits.
	maxCount, maxSize int64

	reqs   chan *request // to the committer
	quit   chan struct{} // closed by Close to stop the background goroutines
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the committer, the GC loop, the reapers

	// mu guards closed. Calls hold it for reading while they use db or
	// hand a request to the committer, so that Close, which takes it for
	// writing, waits for them.
	mu     sync.RWMutex
	closed bool

	// delMu guards deleting: the documents whose records a reaper is
	// removing.
	delMu    sync.Mutex
	deleting map[string]*deletion

	closeOnce sync.Once
	closeErr  error

	// cache is the committer's memory of committed metadata and client
	// records; only the committer goroutine touches it.
	cache map[string]*docState

	commits, writes, appends, ops atomic.Uint64

	ready readiness // Ready's last answer
}

// Stats counts what a Store has committed since Open.
type Stats struct {
	Commits uint64 // Badger transactions committed, each with one sync
	Writes  uint64 // write requests committed: appends, creates, snapshots, deletion steps, Ready's writes
	Appends uint64 // Append calls committed
	Ops     uint64 // ops appended
}

// Open opens the store in opts.Dir, creating it when missing. It fails
// with an error wrapping ErrLocked when another Store, in this process or
// another, has the directory open.
func Open(ctx context.Context, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := removeTornFiles(opts.Dir, opts.Logger); err != nil {
		lock.release()
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, err)
	}
	db, err := badger.Open(opts.badgerOptions())
	if err != nil {
		lock.release()
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("open store %s: %w", opts.Dir, ErrLocked)
		}
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, storageErr(err))
	}
	s := &Store{
		opts:     opts,
		log:      opts.Logger,
		db:       db,
		lock:     lock,
		maxCount: db.MaxBatchCount() - 1,
		maxSize:  db.MaxBatchSize() * 99 / 100,
		reqs:     make(chan *request, maxBatchRequests),
		quit:     make(chan struct{}),
		deleting: map[string]*deletion{},
		cache:    map[string]*docState{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.commitLoop()
	go s.gcLoop()
	if err := s.resumeDeletions(); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, err)
	}
	return s, nil
}

// Close stops the store's background work, commits what was handed to it
// already, and closes the directory. Calls that arrive later fail with
// ErrClosed. A deletion that was under way resumes at the next Open.
// Close is idempotent: later calls return the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		close(s.quit)
		s.wg.Wait()
		err := storageErr(s.db.Close())
		if lerr := s.lock.release(); err == nil && lerr != nil {
			err = fmt.Errorf("unlock %s: %w", s.opts.Dir, lerr)
		}
		s.closeErr = err
	})
	return s.closeErr
}

// Stats returns what the store has committed since Open.
func (s *Store) Stats() Stats {
	return Stats{
		Commits: s.commits.Load(),
		Writes:  s.writes.Load(),
		Appends: s.appends.Load(),
		Ops:     s.ops.Load(),
	}
}

// view runs fn in a read-only transaction: a consistent snapshot of the
// store.
func (s *Store) view(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	return fn(txn)
}

// gcLoop runs value-log garbage collection every GCInterval until Close.
func (s *Store) gcLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		// Each successful round rewrites one file; stop at the first that
		// finds nothing worth rewriting.
		for n := 0; ; n++ {
			err := s.db.RunValueLogGC(0.5)
			if err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					s.log.Error().Err(storageErr(err)).Msg("value log gc")
				}
				if n > 0 {
					s.log.Info().Int("files", n).Msg("value log gc")
				}
				break
			}
			select {
			case <-s.quit:
				return
			default:
			}
		}
	}
}
