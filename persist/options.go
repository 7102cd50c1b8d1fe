package persist

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// Defaults of Options. They make a small store: about 12 MiB of heap at
// Open where Badger's own defaults take 86 MiB and 2.2 GiB of sparse files.
const (
	DefaultGCInterval       = 10 * time.Minute
	DefaultMemTableSize     = 16 << 20
	DefaultBlockCacheSize   = 8 << 20
	DefaultValueLogFileSize = 64 << 20
	DefaultValueThreshold   = 64 << 10
)

// Options configure a Store. The zero value of every field but Dir means
// its default.
type Options struct {
	// Dir is the data directory, created when missing. Required. One
	// Store at a time may have it open.
	Dir string

	// NoSync turns off the sync to disk that ends every commit. Appends
	// then return once their records are written to the operating system:
	// a crash of the process loses nothing, but a power failure or an
	// operating-system crash may lose writes that were acknowledged (and
	// broadcast). Default false: every acknowledged write is on disk.
	NoSync bool

	// Logger receives the store's messages and Badger's: Badger's errors
	// and warnings at their level, its informational messages at debug
	// and its debug messages at trace. The zero Logger discards them.
	Logger zerolog.Logger

	// GCInterval is how often the value log is garbage collected. Only
	// values above ValueThreshold (large snapshots) live in the value log.
	// Default DefaultGCInterval. Zero means the default, never no GC.
	GCInterval time.Duration

	// MemTableSize is the size of Badger's in-memory tables. A transaction
	// holds at most about 15% of it, which bounds one Append, Create or
	// SaveSnapshot (values above ValueThreshold count a few bytes each).
	// Default DefaultMemTableSize (16 MiB). Zero means the default.
	MemTableSize int64

	// BlockCacheSize is the size of Badger's block cache. Default
	// DefaultBlockCacheSize (8 MiB). Zero means the default, never no
	// cache (Badger panics without one when compression is on).
	BlockCacheSize int64

	// ValueLogFileSize is the size of each value-log file, and the largest
	// value the store accepts. Default DefaultValueLogFileSize (64 MiB).
	// Zero means the default.
	ValueLogFileSize int64

	// ValueThreshold is the size above which a value is kept in the value
	// log rather than in the LSM tree. It must not exceed 15% of
	// MemTableSize. Default DefaultValueThreshold (64 KiB). Zero means the
	// default.
	ValueThreshold int64
}

// withDefaults returns o with its zero fields set to their defaults, and
// checks what Badger would otherwise refuse at Open or panic on.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("%w: no data directory", ErrInvalid)
	}
	if o.GCInterval <= 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.MemTableSize <= 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.BlockCacheSize <= 0 {
		o.BlockCacheSize = DefaultBlockCacheSize
	}
	if o.ValueLogFileSize <= 0 {
		o.ValueLogFileSize = DefaultValueLogFileSize
	}
	if o.ValueThreshold <= 0 {
		o.ValueThreshold = DefaultValueThreshold
	}
	if o.MemTableSize < 1<<20 {
		return o, fmt.Errorf("%w: memtable size %d below 1 MiB", ErrInvalid, o.MemTableSize)
	}
	if limit := o.MemTableSize * 15 / 100; o.ValueThreshold > limit {
		return o, fmt.Errorf("%w: value threshold %d above 15%% of the memtable size (%d)", ErrInvalid, o.ValueThreshold, limit)
	}
	if o.ValueLogFileSize < 1<<20 || o.ValueLogFileSize >= 2<<30 {
		return o, fmt.Errorf("%w: value log file size %d outside 1 MiB to 2 GiB", ErrInvalid, o.ValueLogFileSize)
	}
	return o, nil
}

// badgerOptions returns Badger's options for o, which has its defaults set.
func (o Options) badgerOptions() badger.Options {
	return badger.DefaultOptions(o.Dir).
		WithSyncWrites(!o.NoSync).
		WithLogger(badgerLogger{o.Logger.With().Str("component", "badger").Logger()}).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(3).
		WithBlockCacheSize(o.BlockCacheSize).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithValueThreshold(o.ValueThreshold).
		WithNumCompactors(2). // Badger refuses 1
		WithMetricsEnabled(false).
		// Every write goes through the one committer goroutine, so
		// transactions never conflict: tracking their reads is waste.
		WithDetectConflicts(false)
}

// badgerLogger passes Badger's messages to a zerolog.Logger.
type badgerLogger struct{ l zerolog.Logger }

func (b badgerLogger) Errorf(f string, args ...any)   { b.l.Error().Msgf(trimNL(f), args...) }
func (b badgerLogger) Warningf(f string, args ...any) { b.l.Warn().Msgf(trimNL(f), args...) }
func (b badgerLogger) Infof(f string, args ...any)    { b.l.Debug().Msgf(trimNL(f), args...) }
func (b badgerLogger) Debugf(f string, args ...any)   { b.l.Trace().Msgf(trimNL(f), args...) }

// trimNL drops the newline that ends most of Badger's formats.
func trimNL(f string) string {
	for len(f) > 0 && f[len(f)-1] == '\n' {
		f = f[:len(f)-1]
	}
	return f
}
