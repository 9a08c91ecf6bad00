package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/sqlite"
	"github.com/relaymusic/relay/storage"
)

// openLedger is a real store (schema applied), which is the Ledger.
func openLedger(t *testing.T) (*sqlite.Store, Ledger) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store, store
}

// TestReserve: the limits' edges, each crossed, and Retry-After as the
// time until enough of the oldest uploads leave the window.
func TestReserve(t *testing.T) {
	lim := Limits{Uploads: 3, Bytes: 100, Window: time.Hour}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	type up struct {
		at    time.Duration // after t0
		bytes int64
	}
	cases := []struct {
		name   string
		before []up
		at     time.Duration
		size   int64
		retry  time.Duration // 0: taken
	}{
		{"empty", nil, 0, 100, 0},
		{"the last place", []up{{0, 10}, {time.Minute, 10}}, 2 * time.Minute, 10, 0},
		{"one past the count", []up{{0, 10}, {time.Minute, 10}, {2 * time.Minute, 10}}, 3 * time.Minute, 10, 57 * time.Minute},
		{"the count checked before the body (size 0)", []up{{0, 10}, {time.Minute, 10}, {2 * time.Minute, 10}}, 3 * time.Minute, 0, 57 * time.Minute},
		{"the oldest left the window", []up{{0, 10}, {time.Minute, 10}, {2 * time.Minute, 10}}, 61 * time.Minute, 10, 0},
		{"bytes to the limit", []up{{0, 60}}, time.Minute, 40, 0},
		{"one byte past", []up{{0, 60}}, time.Minute, 41, 59 * time.Minute},
		{"the oldest upload frees enough", []up{{0, 30}, {10 * time.Minute, 50}}, 20 * time.Minute, 40, 40 * time.Minute},
		{"only the second frees enough", []up{{0, 30}, {10 * time.Minute, 50}}, 20 * time.Minute, 75, 50 * time.Minute},
		{"larger than the hour's bytes", nil, 0, 101, time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, l := openLedger(t)
			ctx := context.Background()
			for _, u := range c.before {
				if _, err := reserve(ctx, l, "did:plc:a", t0.Add(u.at), u.bytes, lim); err != nil {
					t.Fatal(err)
				}
			}
			// Another user's uploads never count.
			for range 5 {
				if _, err := reserve(ctx, l, "did:plc:b", t0.Add(c.at), 1, Limits{Uploads: 100, Bytes: 1000, Window: time.Hour}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := reserve(ctx, l, "did:plc:a", t0.Add(c.at), c.size, lim)
			var rl *ErrRateLimited
			switch {
			case c.retry == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case c.retry != 0 && !errors.As(err, &rl):
				t.Fatalf("got %v, want a rate limit", err)
			case c.retry != 0 && rl.RetryAfter != c.retry:
				t.Errorf("retry after %v, want %v", rl.RetryAfter, c.retry)
			}
		})
	}
}

// TestRelease: a released reservation frees its place.
func TestRelease(t *testing.T) {
	_, l := openLedger(t)
	ctx := context.Background()
	lim := Limits{Uploads: 1, Bytes: 100, Window: time.Hour}
	now := time.Now()
	id, err := reserve(ctx, l, "did:plc:a", now, 10, lim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reserve(ctx, l, "did:plc:a", now, 10, lim); err == nil {
		t.Fatal("a second upload past the limit was taken")
	}
	if err := l.ReleaseUpload(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := reserve(ctx, l, "did:plc:a", now, 10, lim); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// TestSweep: what a crash between Put and the PDS's answer leaves (an
// object, its journal entry) is deleted an hour on unless a track names
// it; a young entry and a named object stay.
func TestSweep(t *testing.T) {
	store, l := openLedger(t)
	ctx := context.Background()
	dir := t.TempDir()
	local, err := storage.NewLocal(filepath.Join(dir, "media"), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	p, err := New(Config{Store: store, Ledger: l, Media: local, SpoolDir: filepath.Join(dir, "spool"), Journal: filepath.Join(dir, "journal")})
	if err != nil {
		t.Fatal(err)
	}
	put := func(content string, age time.Duration) string {
		s, err := spool(dir, stringsReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer s.close()
		k, _ := storage.MakeKey("audio", s.sum, "mp3")
		if err := p.objs.hold(k.String()); err != nil {
			t.Fatal(err)
		}
		if err := local.Put(ctx, k.String(), s.reader(), s.size, ""); err != nil {
			t.Fatal(err)
		}
		p.objs.unhold(k.String(), false) // the crash: the journal entry stays
		old := time.Now().Add(-age)
		if err := os.Chtimes(p.objs.journalName(k.String()), old, old); err != nil {
			t.Fatal(err)
		}
		return k.String()
	}
	orphan := put("orphan", 2*time.Hour)
	young := put("young", time.Minute)
	named := put("named", 2*time.Hour)
	// A track names the third, as the firehose's copy of its record would.
	did := syntax.DID("did:plc:sweep")
	tr := &relay.Track{DID: did, Collection: Collection, RKey: "3lbsweep2222x", Rev: "3lbsweep2222x", Title: "t", Artist: "a", FileType: "mp3", AudioURL: local.URL(named), CreatedAt: time.Now(), Record: []byte(`{}`)}
	if _, err := store.ApplyBatch(ctx, []relay.Event{{Kind: relay.TrackPut, DID: did, Track: tr}}, 0); err != nil {
		t.Fatal(err)
	}
	n, err := p.Sweep(ctx, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Sweep deleted %d (%v), want 1", n, err)
	}
	for key, want := range map[string]bool{orphan: false, young: true, named: true} {
		if ok, _ := local.Exists(ctx, key); ok != want {
			t.Errorf("%s exists %v, want %v", key, ok, want)
		}
	}
	if _, err := os.Stat(p.objs.journalName(named)); !os.IsNotExist(err) {
		t.Error("the named object's journal entry stayed")
	}
	if _, err := os.Stat(p.objs.journalName(young)); err != nil {
		t.Error("the young entry left the journal")
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
