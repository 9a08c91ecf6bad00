package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/internal/jetstreamtest"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// TestCrashRecovery kills relay serve with SIGKILL twice in the middle of a
// stream, restarts it each time, and then finds every event applied exactly
// once: SQLite holds exactly the end state the stream describes, and Bleve
// holds exactly its visible tracks, once each.
func TestCrashRecovery(t *testing.T) {
	frames, exp := jetstreamtest.Generate(jetstreamtest.StreamSpec{
		Events: 4000, Seed: 42, Accounts: 60,
		Start: time.Now().Add(-2 * time.Hour).UnixMicro(),
		// 20ms apart: the 5 s rewind on restart replays a slice of the
		// stream, not all of it, so the stored cursor is what resumes.
		Spacing: 20 * time.Millisecond,
	})
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	srv.Pace(300 * time.Microsecond)

	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--jetstream-url", srv.URL(), "--jetstream-cursor", itoa(frames[0].TimeUS)}
	for i, at := range []int{len(frames) / 3, 2 * len(frames) / 3} {
		p := startRelay(t, args...)
		deadline := time.Now().Add(60 * time.Second)
		for {
			h, err := p.Health()
			if err == nil && h.Ingest.Cursor >= frames[at].TimeUS {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d never reached event %d:\n%s", i, at, p.Log)
			}
			time.Sleep(2 * time.Millisecond)
		}
		p.Signal(syscall.SIGKILL, 30*time.Second)
		t.Logf("killed run %d at event ~%d (%d frames delivered so far)", i, at, srv.Delivered())
	}
	p := startRelay(t, args...)
	p.WaitCaughtUp(t, exp.LastTimeUS, 2*time.Minute)
	p.Signal(syscall.SIGTERM, 30*time.Second)

	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d connections, want 3", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		if reqs[i].Cursor <= frames[0].TimeUS {
			t.Errorf("restart %d resumed from the start (%d), not from its stored cursor", i, reqs[i].Cursor)
		}
		if reqs[i].Cursor > reqs[i-1].LastSent {
			t.Errorf("restart %d resumed at %d, after the last event sent %d", i, reqs[i].Cursor, reqs[i-1].LastSent)
		}
	}
	assertStore(t, datadir.StorePath(dir), exp)
	assertIndex(t, datadir.IndexPath(dir), exp)
}

func assertStore(t *testing.T, path string, exp jetstreamtest.Expected) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := exp.CheckStore(ctx, s); err != nil {
		t.Errorf("sqlite: %v", err)
	}
}

func assertIndex(t *testing.T, dir string, exp jetstreamtest.Expected) {
	t.Helper()
	idx, err := search.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	n, err := idx.DocCount()
	if err != nil {
		t.Fatal(err)
	}
	if n != uint64(len(exp.Visible)) {
		t.Errorf("bleve holds %d docs, want %d", n, len(exp.Visible))
	}
	// Every generated title has the word "track": page through all of them.
	seen := map[string]bool{}
	q := search.Query{Text: "track", Limit: 100, Sort: search.SortNewest}
	for {
		res, err := idx.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.URIs {
			if seen[u] {
				t.Fatalf("bleve returns %s twice", u)
			}
			seen[u] = true
			if _, ok := exp.Visible[u]; !ok {
				t.Errorf("bleve returns %s, which is not visible", u)
			}
		}
		if res.Cursor == "" {
			break
		}
		q.Cursor = res.Cursor
	}
	if len(seen) != len(exp.Visible) {
		t.Errorf("search reaches %d tracks, want %d", len(seen), len(exp.Visible))
	}

	// Updates reached the index too: "updated" finds exactly the tracks
	// whose last version says so.
	want := map[string]bool{}
	for u, title := range exp.Visible {
		if strings.HasSuffix(title, " updated") {
			want[u] = true
		}
	}
	got := map[string]bool{}
	q = search.Query{Text: "updated", Limit: 100, Sort: search.SortNewest}
	for {
		res, err := idx.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.URIs {
			got[u] = true
		}
		if res.Cursor == "" {
			break
		}
		q.Cursor = res.Cursor
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Errorf("search for updated titles finds %d, want %d", len(got), len(want))
	}
	for u := range want {
		if !got[u] {
			t.Errorf("updated title of %s is not searchable", u)
		}
	}
}

// TestLostIndexRebuilt: with the search index gone (deleted, or a disk
// replaced) and the outbox pruned, the next start rebuilds it from SQLite
// rather than serving an empty index.
func TestLostIndexRebuilt(t *testing.T) {
	frames, exp := jetstreamtest.Generate(jetstreamtest.StreamSpec{
		Events: 300, Seed: 5, Start: time.Now().Add(-time.Hour).UnixMicro(),
	})
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--jetstream-url", srv.URL(), "--jetstream-cursor", itoa(frames[0].TimeUS)}
	p := startRelay(t, args...)
	p.WaitCaughtUp(t, exp.LastTimeUS, time.Minute)
	p.Signal(syscall.SIGTERM, 30*time.Second)

	// The follower prunes what it applied; make sure all of it is gone, as
	// it is on a server that ran for a while.
	ctx := context.Background()
	s, err := sqlite.Open(ctx, datadir.StorePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	head, err := s.OutboxSeq(ctx)
	if err == nil {
		err = s.PruneOutbox(ctx, head)
	}
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(datadir.IndexPath(dir)); err != nil {
		t.Fatal(err)
	}
	p = startRelay(t, args...)
	p.WaitCaughtUp(t, exp.LastTimeUS, time.Minute)
	p.Signal(syscall.SIGTERM, 30*time.Second)
	if !strings.Contains(p.Log.String(), "rebuilding it from SQLite") {
		t.Errorf("the lost index was not rebuilt at start:\n%s", p.Log)
	}
	assertIndex(t, datadir.IndexPath(dir), exp)
}

// TestReindexRefusedWhileServing: only one process may hold the search
// index; relay reindex beside a running serve fails at once and says why.
func TestReindexRefusedWhileServing(t *testing.T) {
	srv := jetstreamtest.NewServer(nil)
	defer srv.Close()
	dir := t.TempDir()
	p := startRelay(t, "--data-dir", dir, "--jetstream-url", srv.URL())
	out, err := exec.Command(relayBin, "reindex", "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "stop it first") {
		t.Fatalf("reindex beside serve: err %v, output %s", err, out)
	}
	p.Signal(syscall.SIGTERM, 30*time.Second)
	if out, err := exec.Command(relayBin, "reindex", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("reindex with serve stopped: %v\n%s", err, out)
	}
}
