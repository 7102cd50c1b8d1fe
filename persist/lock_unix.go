//go:build unix

package persist

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the file whose lock says that a Store has the directory
// open. Badger locks the directory itself as well; this lock comes first
// and gives a clear error.
const lockFile = "cowrite.lock"

// dirLock holds an exclusive flock on lockFile in the data directory. A
// flock belongs to the open file, so a second Open in the same process is
// refused as well as one in another process; the operating system drops
// the lock when the process dies.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return &dirLock{f}, nil
}

func (l *dirLock) release() error {
	// Closing the file drops the lock. The file stays: removing it would
	// race with another process that has just opened it.
	return l.f.Close()
}
