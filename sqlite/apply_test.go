package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

const (
	alice = syntax.DID("did:plc:alice5rxbvqptxhmrrkjtu6m")
	bob   = syntax.DID("did:plc:bob27wa2tvrrlvrd3nrheyuz")
	rk1   = syntax.RecordKey("3mmoojp7etg2g")
	rk2   = syntax.RecordKey("3mmoojp7etg3a")
)

// revs in increasing order.
const (
	rev1 = "3mmoojp7vgo2a"
	rev2 = "3mmoojp7vgo2b"
	rev3 = "3mmoojp7vgo2c"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(did syntax.DID, rkey syntax.RecordKey, rev, title string, created time.Time) relay.Event {
	return relay.Event{Kind: relay.TrackPut, DID: did, Track: &relay.Track{
		DID: did, Collection: relay.TrackCollection, RKey: rkey, Rev: rev, CID: "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq",
		Title: title, Artist: "Sigur Rós", FileType: "mp3", AudioURL: "https://audio.example/a.mp3",
		Record: []byte(`{"$type":"app.relay.track","title":"` + title + `"}`), CreatedAt: created,
	}}
}

func del(did syntax.DID, rkey syntax.RecordKey, rev string) relay.Event {
	return relay.Event{Kind: relay.TrackDelete, DID: did, Collection: relay.TrackCollection, RKey: rkey, Rev: rev}
}

func account(did syntax.DID, active bool, status string) relay.Event {
	return relay.Event{Kind: relay.AccountStatus, DID: did, Active: active, Status: status}
}

func identity(did syntax.DID, handle string) relay.Event {
	return relay.Event{Kind: relay.IdentityUpdate, DID: did, Handle: handle}
}

func TestApply(t *testing.T) {
	past := time.Date(2025, 10, 2, 18, 4, 11, 0, time.UTC)
	type want struct {
		titles  []string // visible titles in feed order
		applied int
		stale   int
	}
	cases := []struct {
		name   string
		events []relay.Event
		want   want
	}{
		{"create", []relay.Event{put(alice, rk1, rev1, "Hoppípolla", past)},
			want{[]string{"Hoppípolla"}, 1, 0}},
		{"update with a newer rev", []relay.Event{put(alice, rk1, rev1, "Hoppípolla", past), put(alice, rk1, rev2, "Hoppipolla (live)", past)},
			want{[]string{"Hoppipolla (live)"}, 2, 0}},
		{"stale rev is ignored", []relay.Event{put(alice, rk1, rev2, "new", past), put(alice, rk1, rev1, "old", past)},
			want{[]string{"new"}, 1, 1}},
		{"replay of the same event is ignored", []relay.Event{put(alice, rk1, rev1, "once", past), put(alice, rk1, rev1, "once", past)},
			want{[]string{"once"}, 1, 1}},
		{"delete", []relay.Event{put(alice, rk1, rev1, "gone", past), del(alice, rk1, rev2)},
			want{nil, 2, 0}},
		{"delete then late create cannot resurrect", []relay.Event{put(alice, rk1, rev1, "gone", past), del(alice, rk1, rev2), put(alice, rk1, rev1, "gone", past)},
			want{nil, 2, 1}},
		{"delete before any create leaves a tombstone", []relay.Event{del(alice, rk1, rev2), put(alice, rk1, rev1, "late", past)},
			want{nil, 1, 1}},
		{"a newer create after a delete shows", []relay.Event{del(alice, rk1, rev2), put(alice, rk1, rev3, "again", past)},
			want{[]string{"again"}, 2, 0}},
		{"account deactivated hides", []relay.Event{put(alice, rk1, rev1, "a", past), put(bob, rk2, rev1, "b", past), account(alice, false, "deactivated")},
			want{[]string{"b"}, 3, 0}},
		{"account reactivated shows again", []relay.Event{put(alice, rk1, rev1, "a", past), account(alice, false, "deactivated"), account(alice, true, "")},
			want{[]string{"a"}, 3, 0}},
		// The account event finds no row (alice has no tracks yet): it
		// changes nothing stored, and is remembered for her first track.
		{"tracks created while hidden stay hidden", []relay.Event{account(alice, false, "suspended"), put(alice, rk1, rev1, "a", past)},
			want{nil, 1, 1}},
		{"account deleted removes for good", []relay.Event{put(alice, rk1, rev1, "a", past), account(alice, false, "deleted"), account(alice, true, ""), put(alice, rk1, rev1, "a", past)},
			want{nil, 3, 1}},
		{"identity without a handle changes nothing", []relay.Event{identity(alice, "")},
			want{nil, 0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			ctx := context.Background()
			// One event per batch, as if each came in its own transaction,
			// then the whole list again in one batch: both must agree.
			var got relay.ApplyResult
			for _, ev := range tc.events {
				r, err := s.ApplyBatch(ctx, []relay.Event{ev}, 0)
				if err != nil {
					t.Fatal(err)
				}
				got.Applied += r.Applied
				got.Stale += r.Stale
			}
			if got.Applied != tc.want.applied || got.Stale != tc.want.stale {
				t.Errorf("applied/stale = %d/%d, want %d/%d", got.Applied, got.Stale, tc.want.applied, tc.want.stale)
			}
			assertFeed(t, s, tc.want.titles)

			s2 := openTest(t)
			if _, err := s2.ApplyBatch(ctx, tc.events, 0); err != nil {
				t.Fatal(err)
			}
			assertFeed(t, s2, tc.want.titles)
		})
	}
}

func assertFeed(t *testing.T, s *Store, want []string) {
	t.Helper()
	rows, err := s.Feed(context.Background(), nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Title)
	}
	if len(got) != len(want) {
		t.Fatalf("feed = %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("feed = %q, want %q", got, want)
		}
	}
}

func TestSortAt(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	future := time.Now().Add(30 * 24 * time.Hour)
	before := time.Now()
	if _, err := s.ApplyBatch(ctx, []relay.Event{
		put(alice, rk1, rev1, "from the future", future),
		put(bob, rk2, rev1, "backfilled old", past),
	}, 0); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Feed(ctx, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows", len(rows))
	}
	fut, old := rows[0], rows[1]
	if fut.Title != "from the future" {
		t.Fatalf("order = %q, %q", rows[0].Title, rows[1].Title)
	}
	// A future-dated record sorts at when we saw it, not at its claim.
	if fut.SortAt.Before(before) || fut.SortAt.After(time.Now()) || !fut.SortAt.Equal(fut.IndexedAt) {
		t.Errorf("future-dated sortAt = %v, indexedAt %v", fut.SortAt, fut.IndexedAt)
	}
	if !fut.CreatedAt.Equal(future.Truncate(time.Microsecond)) {
		t.Errorf("createdAt = %v, want %v (kept as claimed)", fut.CreatedAt, future)
	}
	// An old record sorts at its createdAt: it does not pose as new.
	if !old.SortAt.Equal(past) {
		t.Errorf("old sortAt = %v, want %v", old.SortAt, past)
	}

	// An update keeps the first indexedAt.
	if _, err := s.ApplyBatch(ctx, []relay.Event{put(alice, rk1, rev2, "retitled", future)}, 0); err != nil {
		t.Fatal(err)
	}
	rows, _ = s.Tracks(ctx, []syntax.ATURI{relay.TrackURI(alice, relay.TrackCollection, rk1)})
	if len(rows) != 1 || !rows[0].IndexedAt.Equal(fut.IndexedAt) || rows[0].Title != "retitled" {
		t.Errorf("after update: %+v", rows)
	}
}

func TestCursorCommitsWithRows(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if c, _ := s.Cursor(ctx); c != 0 {
		t.Fatalf("fresh cursor = %d", c)
	}
	if _, err := s.ApplyBatch(ctx, []relay.Event{put(alice, rk1, rev1, "a", time.Now())}, 1779719009132431); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Cursor(ctx); c != 1779719009132431 {
		t.Fatalf("cursor = %d", c)
	}
	// A failing batch writes neither rows nor cursor.
	bad := relay.Event{Kind: 99, DID: alice}
	if _, err := s.ApplyBatch(ctx, []relay.Event{put(bob, rk2, rev1, "b", time.Now()), bad}, 1779719009999999); err == nil {
		t.Fatal("want an error for an unknown event kind")
	}
	if c, _ := s.Cursor(ctx); c != 1779719009132431 {
		t.Fatalf("cursor moved on a failed batch: %d", c)
	}
	assertFeed(t, s, []string{"a"})
}

func TestOutbox(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.ApplyBatch(ctx, []relay.Event{
		put(alice, rk1, rev1, "a", past),     // seq 1
		put(alice, rk1, rev1, "a", past),     // stale: no entry
		put(bob, rk2, rev1, "b", past),       // seq 2
		account(alice, false, "deactivated"), // seq 3 (alice's one track)
		identity(alice, "alice.example.com"), // seq 4: artists are searched by handle
		del(bob, rk2, rev2),                  // seq 5
	}, 0); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 5 {
		t.Fatalf("got %d changes, want 5: %+v", len(ch), ch)
	}
	for i, c := range ch {
		if c.Seq != int64(i+1) {
			t.Errorf("change %d has seq %d", i, c.Seq)
		}
		// Every change reports the current state: nothing is visible now.
		if c.Track != nil {
			t.Errorf("change %d (%s) carries a track, want nil (hidden or deleted)", i, c.URI)
		}
	}
	if ch[0].URI != relay.TrackURI(alice, relay.TrackCollection, rk1) || ch[1].URI != relay.TrackURI(bob, relay.TrackCollection, rk2) {
		t.Errorf("uris = %s, %s", ch[0].URI, ch[1].URI)
	}
	if _, err := s.ApplyBatch(ctx, []relay.Event{account(alice, true, "")}, 0); err != nil {
		t.Fatal(err)
	}
	ch, _ = s.Changes(ctx, 5, 100)
	if len(ch) != 1 || ch[0].Track == nil || ch[0].Track.Title != "a" {
		t.Fatalf("after reactivation: %+v", ch)
	}
	if err := s.PruneOutbox(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.OutboxFloor(ctx); f != 6 {
		t.Errorf("floor = %d, want 6", f)
	}
	if h, _ := s.OutboxSeq(ctx); h != 6 {
		t.Errorf("head = %d, want 6", h)
	}
	// Pruned to empty, the head still stands: an index at seq 6 is current.
	if err := s.PruneOutbox(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.OutboxSeq(ctx); h != 6 {
		t.Errorf("head after pruning all = %d, want 6", h)
	}
}

func TestResyncRepo(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := put(alice, rk1, rev1, "kept", past), put(alice, rk2, rev1, "gone", past)
	if _, err := s.ApplyBatch(ctx, []relay.Event{a, b}, 0); err != nil {
		t.Fatal(err)
	}
	head, _ := s.OutboxSeq(ctx)

	// The repo at rev2 still has rk1 unchanged (same CID), no longer rk2.
	snap := *a.Track
	snap.Rev = rev2
	res, err := s.ResyncRepo(ctx, alice, rev2, "alice.example.com", []syntax.NSID{relay.TrackCollection}, []*relay.Track{&snap})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 1 || res.Stale != 1 {
		t.Errorf("applied/stale = %d/%d, want 1 (the delete)/1 (unchanged)", res.Applied, res.Stale)
	}
	assertFeed(t, s, []string{"kept"})
	// Only the delete and the new handle (one entry naming a live track of
	// the artist) reached the outbox; the unchanged track's rev moved on.
	ch, _ := s.Changes(ctx, head, 100)
	if len(ch) != 2 || ch[0].URI != relay.TrackURI(alice, relay.TrackCollection, rk1) || ch[1].URI != relay.TrackURI(alice, relay.TrackCollection, rk2) {
		t.Errorf("outbox after resync = %+v", ch)
	}
	rows, _ := s.Tracks(ctx, []syntax.ATURI{relay.TrackURI(alice, relay.TrackCollection, rk1)})
	if len(rows) != 1 || rows[0].Rev != rev2 || rows[0].Handle != "alice.example.com" {
		t.Errorf("kept track = %+v", rows)
	}
	// A live event older than the snapshot cannot undo it.
	if _, err := s.ApplyBatch(ctx, []relay.Event{put(alice, rk2, rev1, "gone", past)}, 0); err != nil {
		t.Fatal(err)
	}
	assertFeed(t, s, []string{"kept"})
}
