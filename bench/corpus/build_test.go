package corpus

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/relaymusic/relay/datadir"
)

// TestBuild: a built corpus is a data dir relay serves as is (its index at
// the outbox head, so Serving rebuilds nothing), holding every generated
// track; a second Build finds it in the cache.
func TestBuild(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	spec := Spec{Seed: 7, Tracks: 300}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := Build(ctx, cache, spec, log)
	if err != nil {
		t.Fatal(err)
	}
	if b.Cached {
		t.Error("first build reported cached")
	}
	d, err := datadir.Serving(ctx, b.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Index.DocCount()
	if err != nil || n != uint64(spec.Tracks) {
		t.Errorf("index holds %d docs (%v), want %d", n, err, spec.Tracks)
	}
	mfs, err := d.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "relay_index_rebuilds_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); v != 0 {
				t.Errorf("serving the built dir rebuilt its index (%v): %v", m.GetLabel(), v)
			}
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Build(ctx, cache, spec, log)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.DataDir != b.DataDir {
		t.Errorf("second build: cached %v, dir %s; want the first's %s", again.Cached, again.DataDir, b.DataDir)
	}
}
