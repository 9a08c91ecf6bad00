package datadir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// The data dir's contents.
const (
	StoreFile = "relay.db"     // the SQLite database (with its -wal and -shm)
	IndexDir  = "search.bleve" // the Bleve index
	LockFile  = "index.lock"   // held by the process that holds the index
)

// StorePath is the SQLite database in the data dir at dir.
func StorePath(dir string) string { return filepath.Join(dir, StoreFile) }

// IndexPath is the search index in the data dir at dir.
func IndexPath(dir string) string { return filepath.Join(dir, IndexDir) }

// storeMetricsTTL is how long the store's counts are cached between scrapes:
// counting scans the tracks table.
const storeMetricsTTL = 15 * time.Second

// Dir is an open data dir.
type Dir struct {
	Path  string
	Store *sqlite.Store
	// Index is set by Serving only.
	Index *search.Index
	// Registry is the process's metrics: Go and process collectors, the
	// store's (and the index's) collectors; callers register their
	// packages' metrics on it and serve it.
	Registry *prometheus.Registry

	unlock func()
}

// Open opens the data dir at path, creating it if absent, with its store
// alone: for processes that do not hold the index (relay backfill).
func Open(ctx context.Context, path string) (*Dir, error) {
	d := &Dir{Path: path}
	if err := d.openStore(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Serving opens the data dir at path for the process that holds the search
// index (relay serve): it takes the index lock, opens the store, and opens
// the index through search.OpenCurrent (rebuilding it from the store if the
// outbox cannot bring it up to date), its metrics on the registry.
func Serving(ctx context.Context, path string) (*Dir, error) {
	d := &Dir{Path: path}
	// The lock first: a second server fails before it touches anything.
	if err := mkdir(path); err != nil {
		return nil, err
	}
	if err := d.lock(); err != nil {
		return nil, err
	}
	if err := d.openStore(ctx); err != nil {
		d.Close()
		return nil, err
	}
	var err error
	d.Index, err = search.OpenCurrent(ctx, IndexPath(path), d.Store, search.NewMetrics(d.Registry))
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("datadir: opening search index: %w", err)
	}
	d.Registry.MustRegister(d.Index.Collector(IndexPath(path)))
	return d, nil
}

func mkdir(path string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("datadir: creating %s: %w", path, err)
	}
	return nil
}

// openStore opens the store and the registry with its collector.
func (d *Dir) openStore(ctx context.Context) error {
	if err := mkdir(d.Path); err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, StorePath(d.Path))
	if err != nil {
		return fmt.Errorf("datadir: %w", err)
	}
	d.Store = store
	d.Registry = prometheus.NewRegistry()
	d.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		store.Collector(storeMetricsTTL),
	)
	return nil
}

// Reindex rebuilds the search index from the store (relay reindex). It takes
// the index lock for the rebuild, so it fails at once while another process
// holds the index; a Dir opened by Serving holds it already and must close
// its index first.
func (d *Dir) Reindex(ctx context.Context) error {
	if d.Index != nil {
		return errors.New("datadir: reindex: this process has the index open")
	}
	if d.unlock == nil {
		if err := d.lock(); err != nil {
			return err
		}
		defer d.release()
	}
	return search.RebuildFrom(ctx, IndexPath(d.Path), d.Store)
}

// Close closes the index and the store, and releases the index lock.
func (d *Dir) Close() error {
	var errs []error
	if d.Index != nil {
		if err := d.Index.Close(); err != nil {
			errs = append(errs, fmt.Errorf("datadir: closing index: %w", err))
		}
		d.Index = nil
	}
	if d.Store != nil {
		if err := d.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("datadir: closing store: %w", err))
		}
		d.Store = nil
	}
	d.release()
	return errors.Join(errs...)
}

func (d *Dir) release() {
	if d.unlock != nil {
		d.unlock()
		d.unlock = nil
	}
}
