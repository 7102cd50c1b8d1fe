//go:build !unix

package persist

// dirLock is a no-op where flock is missing: Badger's own directory lock
// still refuses a second Open, and Open translates its error to ErrLocked.
type dirLock struct{}

func lockDir(dir string) (*dirLock, error) { return &dirLock{}, nil }

func (l *dirLock) release() error { return nil }
