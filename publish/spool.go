package publish

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// spooled is an upload part written to a temporary file as it arrived,
// hashed and counted on the way: never whole in memory.
type spooled struct {
	f    *os.File
	size int64
	sum  [32]byte
}

// errTooLarge is a part past its bound.
var errTooLarge = errors.New("too large")

// spool copies r into a new temporary file in dir, at most limit bytes;
// one byte more is errTooLarge (the file is removed).
func spool(dir string, r io.Reader, limit int64) (*spooled, error) {
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("publish: creating a spool file: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = errTooLarge
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	s := &spooled{f: f, size: n}
	h.Sum(s.sum[:0])
	return s, nil
}

// reader is the spooled content from its start.
func (s *spooled) reader() io.Reader { return io.NewSectionReader(s.f, 0, s.size) }

// close removes the spool file.
func (s *spooled) close() {
	if s == nil {
		return
	}
	s.f.Close()
	os.Remove(s.f.Name())
}

// rateReader fails a body that arrives slower than min bytes a second on
// average once grace has passed, or that sends nothing for stall, so a
// client cannot hold a connection open for the whole (size-proportional)
// read deadline by trickling or by stopping. The stall bound is the
// connection's read deadline, moved before each read (never past end).
type rateReader struct {
	r           io.Reader
	start       time.Time
	grace       time.Duration
	min         int64
	n           int64
	stall       time.Duration
	end         time.Time
	setDeadline func(time.Time) error // nil: no stall bound
}

var errTooSlow = errors.New("upload slower than the minimum rate")

func (t *rateReader) Read(p []byte) (int, error) {
	if t.setDeadline != nil && t.stall > 0 {
		until := time.Now().Add(t.stall)
		if !t.end.IsZero() && until.After(t.end) {
			until = t.end
		}
		// Best effort: a connection that cannot take a deadline keeps
		// the one set for the whole body.
		_ = t.setDeadline(until)
	}
	n, err := t.r.Read(p)
	t.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, fmt.Errorf("%w: nothing arrived for %v", errTooSlow, t.stall)
	}
	if el := time.Since(t.start); t.min > 0 && el > t.grace && float64(t.n) < float64(t.min)*el.Seconds() {
		return n, errTooSlow
	}
	return n, err
}

// cleanSpool creates dir, and removes the spool files a crashed process
// left there: one server holds the data dir (its lock), so none is live.
func cleanSpool(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("publish: creating %s: %w", dir, err)
	}
	stale, err := filepath.Glob(filepath.Join(dir, "upload-*"))
	if err != nil {
		return fmt.Errorf("publish: listing %s: %w", dir, err)
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("publish: removing a stale spool file: %w", err)
		}
	}
	return nil
}
