package datadir

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
)

// TestIndexLock: one holder of the index per data dir; the store alone
// opens beside it; the lock is free again once the holder closes.
func TestIndexLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := Serving(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const held = "another relay process holds the search index"
	if d, err := Serving(ctx, dir); err == nil || !strings.Contains(err.Error(), held) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("second Serving: err %v, want %q", err, held)
	}
	side, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open beside a serving process: %v", err)
	}
	if err := side.Reindex(ctx); err == nil || !strings.Contains(err.Error(), held) {
		t.Fatalf("Reindex while served: err %v, want %q", err, held)
	}
	if err := srv.Reindex(ctx); err == nil {
		t.Fatal("Reindex of a Dir with its index open: want an error")
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := side.Reindex(ctx); err != nil {
		t.Fatalf("Reindex once the server closed: %v", err)
	}
	// Reindex released the lock it took.
	again, err := Serving(ctx, dir)
	if err != nil {
		t.Fatalf("Serving after Reindex: %v", err)
	}
	again.Close()
	side.Close()
}

// TestReindex: a track written through a store-only Dir (relay backfill)
// is in the index Reindex builds, and Serving opens that index as is.
func TestReindex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := &relay.Track{
		DID: "did:plc:datadirtest", Collection: relay.TrackCollection, RKey: "3kabc2aaaaa2a", Rev: "3kabc2aaaaa2a",
		Title: "Jóga", Artist: "Björk", FileType: "mp3", AudioURL: "https://example.com/a.mp3",
		Record:    []byte(`{"$type":"app.relay.track","title":"Jóga"}`),
		CreatedAt: at, IndexedAt: at, SortAt: at,
	}
	if _, err := d.Store.ApplyBatch(ctx, []relay.Event{{Kind: relay.TrackPut, DID: tr.DID, Track: tr}}, 1); err != nil {
		t.Fatal(err)
	}
	if err := d.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err := Serving(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if n, err := srv.Index.DocCount(); err != nil || n != 1 {
		t.Fatalf("DocCount = %d, %v; want 1", n, err)
	}
	res, err := srv.Index.Search(ctx, search.Query{Text: "bjork", Limit: 10})
	if err != nil || len(res.URIs) != 1 || res.URIs[0] != tr.URI().String() {
		t.Fatalf("search bjork = %v, %v; want %s", res.URIs, err, tr.URI())
	}
}

// TestRegistry: each Dir has its own registry holding the Go and process
// collectors and the store's and index's series, and nothing registered
// on the process-wide default.
func TestRegistry(t *testing.T) {
	ctx := context.Background()
	foreign := prometheus.NewCounter(prometheus.CounterOpts{Name: "datadir_test_foreign_total", Help: "registered on the default registry"})
	prometheus.MustRegister(foreign)
	defer prometheus.Unregister(foreign)

	// Two serving dirs in one process: no metric is a global, so the
	// second registers its own without a clash.
	for i := range 2 {
		d, err := Serving(ctx, t.TempDir())
		if err != nil {
			t.Fatalf("dir %d: %v", i, err)
		}
		defer d.Close()
		mfs, err := d.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, mf := range mfs {
			got[mf.GetName()] = true
		}
		for _, want := range []string{
			"go_goroutines", "process_start_time_seconds",
			"relay_tracks", "relay_artists", "relay_sqlite_size_bytes",
			"relay_index_documents", "relay_index_size_bytes", "relay_index_applied_seq",
			"relay_index_rebuilds_total", "relay_index_lag_entries",
		} {
			if !got[want] {
				t.Errorf("dir %d: %s missing from the registry", i, want)
			}
		}
		if got["datadir_test_foreign_total"] {
			t.Errorf("dir %d: the default registry's series leaked in", i)
		}
	}
	store, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if n, err := countFamilies(store.Registry, "relay_index_"); err != nil || n != 0 {
		t.Errorf("a store-only Dir exports %d index families (%v), want 0", n, err)
	}
}

func countFamilies(g prometheus.Gatherer, prefix string) (int, error) {
	mfs, err := g.Gather()
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), prefix) {
			n++
		}
	}
	return n, err
}
