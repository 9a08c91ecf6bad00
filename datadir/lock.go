package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lock takes the data dir's index lock: only one process may hold the
// search index (relay serve, or relay reindex while serve is stopped). It
// fails at once, naming the fix, when another holder has it. flock is
// released by the kernel when the process exits, however it exits.
func (d *Dir) lock() error {
	path := filepath.Join(d.Path, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("datadir: opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("another relay process holds the search index in %s (relay serve running?): stop it first", d.Path)
		}
		return fmt.Errorf("datadir: locking %s: %w", path, err)
	}
	d.unlock = func() { f.Close() }
	return nil
}
