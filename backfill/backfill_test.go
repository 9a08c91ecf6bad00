package backfill

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay/internal/testnet"
	"github.com/relaymusic/relay/sqlite"
)

// The tests share one real network: a PLC directory and a PDS on loopback.
var (
	netOnce sync.Once
	testNet *testnet.Network
	netErr  error
)

func network(t *testing.T) *testnet.Network {
	t.Helper()
	netOnce.Do(func() {
		testNet, netErr = testnet.Start(context.Background(), testnet.Options{})
	})
	if netErr != nil {
		t.Fatal(netErr)
	}
	return testNet
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testNet != nil {
		testNet.Close()
	}
	os.Exit(code)
}

func rejectedTotalFor(m *Metrics, reason string) float64 {
	return testutil.ToFloat64(m.rejected.WithLabelValues(reason))
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func track(title string) map[string]any {
	return map[string]any{
		"$type": "app.relay.track", "title": title, "artist": "backfill artist",
		"audioUrl": "https://audio.relay.example/" + title + ".mp3", "fileType": "mp3", "duration": 200,
		"createdAt": testnet.Datetime(time.Now().Add(-24 * time.Hour)),
	}
}

// seeded is the catalogue written before the "service" started.
type seeded struct {
	accounts []*testnet.Account
	// visible titles by at-uri
	want map[string]string
	bad  int
}

// seed makes n accounts with `per` tracks each, plus, on every account, a
// record of another collection, a track that breaks the lexicon (written
// with validate=false) and a track that is deleted again.
func seed(t *testing.T, n, per int) *seeded {
	t.Helper()
	ctx := context.Background()
	nw := network(t)
	s := &seeded{want: map[string]string{}}
	no := false
	for i := range n {
		acct, err := nw.CreateAccount(ctx, "bf")
		if err != nil {
			t.Fatal(err)
		}
		s.accounts = append(s.accounts, acct)
		for j := range per {
			title := fmt.Sprintf("bf-%s-%d", acct.DID[len(acct.DID)-6:], j)
			uri, _, err := nw.CreateRecord(ctx, acct, "app.relay.track", track(title), nil)
			if err != nil {
				t.Fatal(err)
			}
			s.want[uri] = title
		}
		if _, _, err := nw.CreateRecord(ctx, acct, "app.bsky.feed.post", map[string]any{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": testnet.Datetime(time.Now())}, nil); err != nil {
			t.Fatal(err)
		}
		bad := track("bad")
		delete(bad, "fileType")
		if _, _, err := nw.CreateRecord(ctx, acct, "app.relay.track", bad, &no); err != nil {
			t.Fatal(err)
		}
		s.bad++
		uri, _, err := nw.CreateRecord(ctx, acct, "app.relay.track", track(fmt.Sprintf("gone-%d", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := nw.DeleteRecord(ctx, acct, "app.relay.track", syntax.ATURI(uri).RecordKey().String()); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *seeded) dids() []syntax.DID {
	var out []syntax.DID
	for _, a := range s.accounts {
		out = append(out, syntax.DID(a.DID))
	}
	return out
}

func baseConfig(t *testing.T, store *sqlite.Store) Config {
	nw := network(t)
	return Config{
		Store:                store,
		Directory:            &identity.BaseDirectory{PLCURL: nw.PLCURL, SkipHandleVerification: true},
		HTTPClient:           localNetworkClient(t),
		TrustDeclaredHandles: true,
		Concurrency:          4, PerHost: 4, HostRate: 1000,
		RetryBase: 20 * time.Millisecond,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// assertTracks checks the store holds exactly the seeded visible tracks,
// belonging to the given accounts.
func assertTracks(t *testing.T, store *sqlite.Store, want map[string]string) {
	t.Helper()
	ctx := context.Background()
	c, err := store.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Visible != int64(len(want)) {
		t.Errorf("visible tracks = %d, want %d", c.Visible, len(want))
	}
	var uris []syntax.ATURI
	for u := range want {
		uris = append(uris, syntax.ATURI(u))
	}
	rows, err := store.Tracks(ctx, uris)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("found %d of %d tracks", len(rows), len(want))
	}
	for _, r := range rows {
		if r.Title != want[r.URI().String()] {
			t.Errorf("%s: title %q, want %q", r.URI(), r.Title, want[r.URI().String()])
		}
		if r.Handle == "" {
			t.Errorf("%s: no handle stored", r.URI())
		}
		if r.Rev == "" || r.CID == "" || len(r.Record) == 0 {
			t.Errorf("%s: rev/cid/record missing: %+v", r.URI(), r.Track)
		}
	}
}

func TestBackfillFromPDS(t *testing.T) {
	s := seed(t, 4, 3)
	store := openStore(t)
	cfg := baseConfig(t, store)
	cfg.Sources = []Source{NewPDSSource(network(t).PDSURL)}
	stats, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The PDS lists every account of the shared network, other tests' too.
	if stats.Failed != 0 || len(stats.Exhausted) != 0 {
		t.Fatalf("stats = %+v", stats)
	}
	// So the seeded tracks are a subset of the store, not all of it.
	var uris []syntax.ATURI
	for u := range s.want {
		uris = append(uris, syntax.ATURI(u))
	}
	rows, err := store.Tracks(context.Background(), uris)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(s.want) {
		t.Fatalf("found %d of %d seeded tracks", len(rows), len(s.want))
	}
	for _, r := range rows {
		if r.Title != s.want[r.URI().String()] {
			t.Errorf("%s: title %q, want %q", r.URI(), r.Title, s.want[r.URI().String()])
		}
	}
	counts, _ := store.BackfillCounts(context.Background())
	if counts.Pending != 0 || counts.Failed != 0 || counts.Done < len(s.accounts) {
		t.Errorf("backfill counts = %+v", counts)
	}
}

func TestBackfillDIDs(t *testing.T) {
	s := seed(t, 3, 2)
	store := openStore(t)
	cfg := baseConfig(t, store)
	cfg.DIDs = s.dids()
	cfg.Metrics = NewMetrics(prometheus.NewRegistry())
	stats, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Done != 3 || stats.Records != 6 || stats.Failed != 0 {
		t.Errorf("stats = %+v", stats)
	}
	assertTracks(t, store, s.want)
	if got := rejectedTotalFor(cfg.Metrics, "invalid_record"); got != float64(s.bad) {
		t.Errorf("rejected invalid records = %v, want %d", got, s.bad)
	}
	m := cfg.Metrics
	if done, attempts, records := testutil.ToFloat64(m.repos.WithLabelValues("done")), testutil.ToFloat64(m.attempts.WithLabelValues("done")), testutil.ToFloat64(m.records); done != 3 || attempts != 3 || records != 6 {
		t.Errorf("metrics: repos{done} %v, attempts{done} %v, records %v; want 3, 3, 6", done, attempts, records)
	}

	// A resync deletes: a track deleted on the PDS since the last run goes.
	ctx := context.Background()
	var gone string
	for u := range s.want {
		gone = u
		break
	}
	acct := s.accounts[0]
	for _, a := range s.accounts {
		if syntax.ATURI(gone).Authority().String() == a.DID {
			acct = a
		}
	}
	if err := network(t).DeleteRecord(ctx, acct, "app.relay.track", syntax.ATURI(gone).RecordKey().String()); err != nil {
		t.Fatal(err)
	}
	delete(s.want, gone)
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	assertTracks(t, store, s.want)
}

// TestBackfillResumes interrupts a run after a few repos and runs it again:
// the second run does only what is left, and the end state is the same as
// one uninterrupted run.
func TestBackfillResumes(t *testing.T) {
	s := seed(t, 8, 2)
	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	var applied atomic.Int32
	cfg := baseConfig(t, store)
	cfg.Concurrency, cfg.PerHost = 1, 1
	cfg.DIDs = s.dids()
	cfg.Committed = func() {
		if applied.Add(1) == 3 {
			cancel()
		}
	}
	first, err := Run(ctx, cfg)
	if err == nil {
		t.Fatal("want the interrupted run to report its context error")
	}
	counts, _ := store.BackfillCounts(context.Background())
	if counts.Done < 3 || counts.Done == 8 || counts.Pending == 0 {
		t.Fatalf("after the interrupt: %+v (first run %+v)", counts, first)
	}

	// The second run is given no DIDs by name (that would redo them): it
	// picks up the pending ones.
	cfg2 := baseConfig(t, store)
	second, err := Run(context.Background(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if second.Done != counts.Pending {
		t.Errorf("second run did %d repos, want the %d left", second.Done, counts.Pending)
	}
	assertTracks(t, store, s.want)
}

// deadPDS resolves one DID to a PDS that does not answer, until healed.
type deadPDS struct {
	identity.Directory
	did    syntax.DID
	healed atomic.Bool
	tries  atomic.Int32
}

func (d *deadPDS) LookupDID(ctx context.Context, did syntax.DID) (*identity.Identity, error) {
	ident, err := d.Directory.LookupDID(ctx, did)
	if err != nil || did != d.did || d.healed.Load() {
		return ident, err
	}
	d.tries.Add(1)
	cp := *ident
	cp.Services = map[string]identity.ServiceEndpoint{}
	for k, v := range ident.Services {
		cp.Services[k] = v
	}
	cp.Services["atproto_pds"] = identity.ServiceEndpoint{Type: "AtprotoPersonalDataServer", URL: "http://127.0.0.1:1"}
	return &cp, nil
}

func TestBackfillPDSDown(t *testing.T) {
	s := seed(t, 3, 2)
	store := openStore(t)
	cfg := baseConfig(t, store)
	dead := &deadPDS{Directory: cfg.Directory, did: s.dids()[1]}
	cfg.Directory = dead
	cfg.DIDs = s.dids()
	cfg.MaxAttempts = 3
	stats, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The others went on; the dead one was tried MaxAttempts times and is
	// left failed with its error.
	if stats.Done != 2 || stats.Failed != 3 || dead.tries.Load() != 3 {
		t.Errorf("stats = %+v, tries %d", stats, dead.tries.Load())
	}
	if len(stats.Exhausted) != 1 || stats.Exhausted[0].DID != dead.did || stats.Exhausted[0].Error == "" {
		t.Fatalf("exhausted = %+v", stats.Exhausted)
	}
	want := map[string]string{}
	for u, title := range s.want {
		if syntax.ATURI(u).Authority().String() != dead.did.String() {
			want[u] = title
		}
	}
	assertTracks(t, store, want)

	// Its PDS is back: the next run, naming it, brings its tracks in.
	dead.healed.Store(true)
	cfg.DIDs = []syntax.DID{dead.did}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	assertTracks(t, store, s.want)
}

// TestBackfillThroughput backfills 50 accounts and reports repos/s and
// records/s (a figure for the closing note, not an assertion).
func TestBackfillThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 50 accounts")
	}
	start := time.Now()
	s := seed(t, 50, 4)
	t.Logf("seeded 50 accounts, %d tracks in %s", len(s.want), time.Since(start).Round(time.Millisecond))
	store := openStore(t)
	cfg := baseConfig(t, store)
	cfg.Concurrency, cfg.PerHost = 8, 8
	cfg.DIDs = s.dids()
	stats, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	assertTracks(t, store, s.want)
	t.Logf("backfill of %d repos, %d records in %s: %.1f repos/s, %.1f records/s",
		stats.Done, stats.Records, stats.Took.Round(time.Millisecond),
		float64(stats.Done)/stats.Took.Seconds(), float64(stats.Records)/stats.Took.Seconds())
}
