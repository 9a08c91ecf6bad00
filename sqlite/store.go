package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/relaymusic/relay"
)

// Store is relay's SQLite store. It is safe for concurrent use; writes are
// serialized through one connection, reads use a pool.
type Store struct {
	path string
	w    *sql.DB // one connection: SQLite has one writer anyway
	r    *sql.DB // read-only pool
	// recent remembers accounts without tracks for a while (recent.go).
	recent *recentAccounts
	// stmts are the read statements prepared once (prepared), by query.
	stmts sync.Map
}

// Open opens (creating if needed) the database at path and applies the schema.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}
	// busy_timeout: another process (relay backfill) may hold the write lock
	// for a moment. synchronous=NORMAL in WAL mode survives a process crash;
	// only an OS crash can lose the last commits, never corrupt the file.
	params := url.Values{}
	params.Set("_journal_mode", "WAL")
	params.Set("_busy_timeout", "10000")
	params.Set("_synchronous", "NORMAL")
	params.Set("_txlock", "immediate")
	params.Set("_cache_size", "-32000")
	w, err := sql.Open("sqlite3", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Checkpoint less often than every 1000 pages: a checkpoint runs inside
	// the committing transaction, and pages rewritten between two
	// checkpoints are copied once.
	if _, err := w.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 16000`); err != nil {
		w.Close()
		return nil, fmt.Errorf("configuring %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrating %s: %w", path, err)
	}
	if _, err := w.ExecContext(ctx, relay.Schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("applying schema to %s: %w", path, err)
	}

	params.Del("_txlock")
	params.Set("mode", "ro")
	// Each pooled reader has its own page cache, up to 32 MB each as the
	// writer's: at 8 MB the peak RSS under make bench's query load at 1M
	// tracks went from 521 to 493 MB (the goal is under 512); their misses
	// are served by the OS page cache the file already sits in.
	params.Set("_cache_size", "-8000")
	r, err := sql.Open("sqlite3", "file:"+path+"?"+params.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s for reading: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	return &Store{path: path, w: w, r: r, recent: newRecentAccounts(recentCapacity)}, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	s.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// prepared returns the read pool's statement for q, prepared the first
// time it is asked for. Only for queries from a fixed set (the text built
// from constants, never from values): the map keeps every one, in every
// connection of the pool. Preparing the feed's query for every page was
// 16% of the store's time for a page (BenchmarkFeedDeep profile).
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("preparing query: %w", err)
	}
	if prev, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Cursor returns the stored jetstream cursor (unix microseconds), 0 if none.
func (s *Store) Cursor(ctx context.Context) (int64, error) {
	return s.stateValue(ctx, keyCursor)
}

const keyCursor = "jetstream.cursor"

func (s *Store) stateValue(ctx context.Context, key string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading state %s: %w", key, err)
	}
	return v, nil
}

// maxPreparedKeys bounds the lists of keys whose statements are kept
// prepared (queryKeys): a page's worth (appview pages are at most 100),
// so a store keeps at most that many texts per list query, per connection.
const maxPreparedKeys = 100

// queryKeys runs q, whose text depends only on the number of keys n, as
// a prepared statement when n is at most maxPreparedKeys, else as a
// one-off (the search follower's batches of 500 DIDs would keep 500 large
// programs in every connection for little gain).
func (s *Store) queryKeys(ctx context.Context, n int, q string, args ...any) (*sql.Rows, error) {
	if n > maxPreparedKeys {
		return s.r.QueryContext(ctx, q, args...)
	}
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
