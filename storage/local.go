package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// Local is a Store on local disk: dir/audio/... and dir/art/..., served by
// Handler at {publicBase}/{key}.
type Local struct {
	dir  string
	root *os.Root
	base string
}

var _ Store = (*Local)(nil)

// tempPrefix names files being written; they are never a valid key.
const tempPrefix = ".tmp-"

// staleTemp is the age past which NewLocal removes a temp file that a
// crashed Put left behind.
const staleTemp = time.Hour

// NewLocal opens (creating it if needed) the store in dir, whose files are
// served at publicBase (e.g. "http://127.0.0.1:8080").
func NewLocal(dir, publicBase string) (*Local, error) {
	base, err := parseBase(publicBase)
	if err != nil {
		return nil, err
	}
	for p := range contentTypes {
		if err := os.MkdirAll(dir+string(os.PathSeparator)+p, 0o755); err != nil {
			return nil, fmt.Errorf("creating media dir: %w", err)
		}
	}
	// Every file operation goes through root: no name can leave dir,
	// whatever it holds (symlinks included).
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening media dir: %w", err)
	}
	l := &Local{dir: dir, root: root, base: base}
	if err := l.removeStaleTemps(time.Now().Add(-staleTemp)); err != nil {
		root.Close()
		return nil, err
	}
	return l, nil
}

// Close releases the store's directory.
func (l *Local) Close() error { return l.root.Close() }

// removeStaleTemps removes the temp files older than before: a Put cut off
// by a crash leaves one; a Put still running (another process) keeps its
// file's mtime fresh.
func (l *Local) removeStaleTemps(before time.Time) error {
	for p := range contentTypes {
		entries, err := fs.ReadDir(l.root.FS(), p)
		if err != nil {
			return fmt.Errorf("listing media dir %s: %w", p, err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tempPrefix) {
				continue
			}
			info, err := e.Info()
			if err != nil || info.ModTime().After(before) {
				continue
			}
			if err := l.root.Remove(path.Join(p, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing stale temp file: %w", err)
			}
		}
	}
	return nil
}

// Put implements Store: the bytes go to a temp file beside the key's,
// are fsynced, and only then renamed to the key (and the directory
// fsynced), so the key is either absent or whole.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	k, err := checkPut(key, size, contentType)
	if err != nil {
		return err
	}
	if ok, err := l.Exists(ctx, key); err != nil || ok {
		return err
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("storing %s: %w", k, err)
	}
	tmp := path.Join(k.Prefix(), tempPrefix+hex.EncodeToString(rnd[:]))
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("storing %s: %w", k, err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			l.root.Remove(tmp)
		}
	}()
	er := newExactReader(ctx, r, size)
	if _, err := io.Copy(f, er); err != nil {
		return fmt.Errorf("storing %s: %w", k, err)
	}
	if err := er.verify(k); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storing %s: fsync: %w", k, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storing %s: %w", k, err)
	}
	// Two Puts of one key may both get here: either rename wins, and both
	// wrote the same bytes.
	if err := l.root.Rename(tmp, k.String()); err != nil {
		return fmt.Errorf("storing %s: %w", k, err)
	}
	done = true
	if err := l.syncDir(k.Prefix()); err != nil {
		return fmt.Errorf("storing %s: fsync dir: %w", k, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func (l *Local) syncDir(dir string) error {
	d, err := l.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string) error {
	k, err := ParseKey(key)
	if err != nil {
		return err
	}
	if err := l.root.Remove(k.String()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", k, err)
	}
	return nil
}

// Exists implements Store.
func (l *Local) Exists(ctx context.Context, key string) (bool, error) {
	k, err := ParseKey(key)
	if err != nil {
		return false, err
	}
	info, err := l.root.Stat(k.String())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("checking %s: %w", k, err)
	}
	return info.Mode().IsRegular(), nil
}

// URL implements Store: {publicBase}/{key}, served by Handler.
func (l *Local) URL(key string) string { return keyURL(l.base, key) }

// minWriteRate is the slowest client a whole file is written to: each
// answer's write deadline is extended by its length at this rate (the
// server's own WriteTimeout is sized for small JSON answers).
const minWriteRate = 64 << 10 // bytes per second

// Handler serves GET and HEAD /audio/{name} and /art/{name}: only names
// that are valid keys, with Range requests, the key's content type and
// long cache headers; anything else is 404.
func (l *Local) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		k, err := requestKey(r)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		f, err := l.root.Open(k.String())
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err != nil {
			slog.ErrorContext(r.Context(), "media open failed", "key", k.String(), "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		setMediaHeaders(w.Header(), k)
		extra := time.Duration(info.Size()/minWriteRate) * time.Second
		// Not every ResponseWriter can (httptest's recorder): then the
		// server's own timeout stands.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(30*time.Second + extra))
		http.ServeContent(w, r, "", info.ModTime(), f)
	})
}
