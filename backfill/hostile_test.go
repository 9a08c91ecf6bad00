package backfill

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/sqlite"
)

// staticDir resolves every DID to one PDS and signing key; before tells
// each lookup what to do first (block, fail).
type staticDir struct {
	pds     string
	key     atcrypto.PublicKey
	lookups atomic.Int32
	before  func(ctx context.Context) error
}

func (d *staticDir) LookupDID(ctx context.Context, did syntax.DID) (*identity.Identity, error) {
	d.lookups.Add(1)
	if d.before != nil {
		if err := d.before(ctx); err != nil {
			return nil, err
		}
	}
	ident := &identity.Identity{
		DID:      did,
		Handle:   "hostile.test",
		Services: map[string]identity.ServiceEndpoint{"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: d.pds}},
	}
	if d.key != nil {
		ident.Keys = map[string]identity.VerificationMethod{"atproto": {Type: "Multikey", PublicKeyMultibase: d.key.Multibase()}}
	}
	return ident, nil
}

func (d *staticDir) LookupHandle(context.Context, syntax.Handle) (*identity.Identity, error) {
	return nil, errors.New("not here")
}

func (d *staticDir) Lookup(ctx context.Context, a syntax.AtIdentifier) (*identity.Identity, error) {
	if did, err := a.AsDID(); err == nil {
		return d.LookupDID(ctx, did)
	}
	return nil, errors.New("not here")
}

func (d *staticDir) Purge(context.Context, syntax.AtIdentifier) error { return nil }

func quietConfig(store *sqlite.Store, dir identity.Directory) Config {
	return Config{
		Store: store, Directory: dir, Concurrency: 2, PerHost: 2, HostRate: 1000,
		RetryBase: time.Millisecond,
		// A plain client: the PDS is a loopback server of the test.
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestBackfillGivesUpHostileRepo is the acceptance test of the issue: a
// PDS serving a 6 KB CAR of shared subtrees, 25 levels deep, signed by the
// DID's own key. The repo is refused quickly at every attempt, the heap
// stays small, and after MaxAttempts it is given up, not fetched again.
func TestBackfillGivesUpHostileRepo(t *testing.T) {
	key := testKey(t)
	hostile := sharedCAR(t, key, 25)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/vnd.ipld.car")
		w.Write(hostile)
	}))
	defer srv.Close()
	pub, _ := key.PublicKey()
	store := openStore(t)
	cfg := quietConfig(store, &staticDir{pds: srv.URL, key: pub})
	cfg.DIDs = []syntax.DID{testDID}
	cfg.MaxAttempts = 3

	// Sample the heap through the run.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	stats, err := Run(ctx, cfg)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d-byte hostile CAR: %d fetches in %s, heap peak %d KiB over a base of %d KiB",
		len(hostile), fetches.Load(), took.Round(time.Millisecond), (peak.Load()-min(base, peak.Load()))>>10, base>>10)
	if fetches.Load() != 3 || stats.Failed != 3 || stats.Done != 0 {
		t.Errorf("fetches %d, stats %+v; want 3 failed attempts", fetches.Load(), stats)
	}
	if len(stats.Exhausted) != 1 || !strings.Contains(stats.Exhausted[0].Error, errMSTShared.Error()) {
		t.Fatalf("exhausted = %+v", stats.Exhausted)
	}
	if grew := peak.Load() - min(base, peak.Load()); grew > 16<<20 || took > 10*time.Second {
		t.Errorf("heap grew %d bytes, took %s", grew, took)
	}
	// Given up: the next run fetches nothing.
	cfg.DIDs = nil
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if fetches.Load() != 3 {
		t.Errorf("fetched %d times after it was given up", fetches.Load()-3)
	}
}

// The helper process of TestBackfillAttemptCountedBeforeFetch: a backfill
// whose fetch never ends, killed from outside.
func TestHelperHangingFetch(t *testing.T) {
	db := os.Getenv("BACKFILL_HANG_DB")
	if db == "" {
		t.Skip("helper process only")
	}
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	cfg := quietConfig(store, &staticDir{pds: "http://127.0.0.1:1", before: func(ctx context.Context) error {
		os.Stdout.WriteString("fetching\n")
		<-ctx.Done() // the fetch that never completes
		return ctx.Err()
	}})
	cfg.MaxAttempts = 3
	Run(context.Background(), cfg)
	t.Fatal("the run ended")
}

// TestBackfillAttemptCountedBeforeFetch kills (SIGKILL) a process in the
// middle of a repo's fetch, three times: every kill costs the repo an
// attempt, and once MaxAttempts are used it is given up with an error that
// says why, instead of killing every restart.
func TestBackfillAttemptCountedBeforeFetch(t *testing.T) {
	db := filepath.Join(t.TempDir(), "relay.db")
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.AddBackfillRepos(ctx, []syntax.DID{testDID}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHangingFetch$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BACKFILL_HANG_DB="+db)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.Contains(line, "fetching") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper %d: %q, %v", i, line, err)
		}
		cmd.Process.Kill()
		cmd.Wait()
		// The last attempt is given up as it starts: listed as failed, due
		// never.
		failed, err := store.BackfillFailures(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0].Attempts != i || failed[0].Error != relay.ErrAttemptUnfinished {
			t.Fatalf("after kill %d: %+v", i, failed)
		}
	}
	dir := &staticDir{pds: "http://127.0.0.1:1"}
	cfg := quietConfig(store, dir)
	cfg.MaxAttempts = 3
	stats, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if dir.lookups.Load() != 0 || len(stats.Exhausted) != 1 || stats.Exhausted[0].Error != relay.ErrAttemptUnfinished {
		t.Fatalf("lookups %d, exhausted %+v", dir.lookups.Load(), stats.Exhausted)
	}
}

// TestBackfillInterruptKeepsAttempts: a shutdown during a fetch is not the
// repo's fault; the attempt counted before it is taken back.
func TestBackfillInterruptKeepsAttempts(t *testing.T) {
	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := quietConfig(store, &staticDir{pds: "http://127.0.0.1:1", before: func(c context.Context) error {
		cancel()
		<-c.Done()
		return c.Err()
	}})
	cfg.DIDs = []syntax.DID{testDID}
	if _, err := Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	due, err := store.BackfillDue(context.Background(), time.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Attempts != 0 || due[0].State != relay.RepoPending {
		t.Fatalf("after the interrupt: %+v", due)
	}
}

// syncBuffer is a terminal that records when it was written.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *syncBuffer) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes
}

// TestBackfillStoreFailureStops: when the store fails under the dispatcher
// (here: closed during the first fetch), Run returns the error and leaves
// nothing running behind it (the progress bar stops drawing).
func TestBackfillStoreFailureStops(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	dir := &staticDir{pds: "http://127.0.0.1:1", before: func(context.Context) error {
		store.Close()
		return errors.New("no such repo")
	}}
	cfg := quietConfig(store, dir)
	cfg.DIDs = []syntax.DID{testDID}
	term := &syncBuffer{}
	cfg.Terminal = term
	if _, err := Run(context.Background(), cfg); err == nil {
		t.Fatal("want the store's error")
	}
	n := term.count()
	time.Sleep(700 * time.Millisecond) // the bar redraws every 250ms
	if m := term.count(); m != n {
		t.Errorf("the progress bar drew %d times after Run returned", m-n)
	}
}
