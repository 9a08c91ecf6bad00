package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

func actorRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM actors`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func handleOf(t *testing.T, s *Store, did syntax.DID, rkey syntax.RecordKey) string {
	t.Helper()
	rows, err := s.Tracks(context.Background(), []syntax.ATURI{relay.TrackURI(did, relay.TrackCollection, rkey)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%s not visible", relay.TrackURI(did, relay.TrackCollection, rkey))
	}
	return rows[0].Handle
}

// TestAccountsWithoutTracksAddNoRows: jetstream sends identity and account
// events for every account of the network; only accounts with tracks get a
// row, and account status still hides the tracks of those that have them.
func TestAccountsWithoutTracksAddNoRows(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.ApplyBatch(ctx, []relay.Event{put(alice, rk1, rev1, "a", past)}, 1); err != nil {
		t.Fatal(err)
	}
	const accounts = 20000
	var batch []relay.Event
	for i := range accounts {
		did := syntax.DID(fmt.Sprintf("did:plc:nobody%019d", i))
		batch = append(batch,
			identity(did, fmt.Sprintf("n%d.example.com", i)),
			account(did, i%2 == 0, map[bool]string{true: "", false: "deactivated"}[i%2 == 0]))
		if len(batch) == 1000 {
			res, err := s.ApplyBatch(ctx, batch, int64(2+i))
			if err != nil {
				t.Fatal(err)
			}
			if res.Applied != 0 {
				t.Fatalf("events of accounts without tracks applied %d changes", res.Applied)
			}
			batch = batch[:0]
		}
	}
	if n := actorRows(t, s); n != 1 {
		t.Errorf("actors rows = %d after %d accounts without tracks, want 1 (alice)", n, accounts)
	}
	if n := s.recent.len(); n != accounts {
		t.Errorf("remembered %d accounts, want %d", n, accounts)
	}
	// An account with tracks is still hidden and shown by its events.
	if _, err := s.ApplyBatch(ctx, []relay.Event{account(alice, false, "takendown")}, 0); err != nil {
		t.Fatal(err)
	}
	assertFeed(t, s, nil)
	if _, err := s.ApplyBatch(ctx, []relay.Event{account(alice, true, ""), identity(alice, "alice.example.com")}, 0); err != nil {
		t.Fatal(err)
	}
	assertFeed(t, s, []string{"a"})
	if h := handleOf(t, s, alice, rk1); h != "alice.example.com" {
		t.Errorf("alice's handle = %q", h)
	}
	if n := actorRows(t, s); n != 1 {
		t.Errorf("actors rows = %d, want 1", n)
	}
}

// TestFirstTrackTakesAccountState: what the network said of an account
// before its first track applies to it, in the same batch or an earlier one;
// a takedown after the first track in the same batch hides it too.
func TestFirstTrackTakesAccountState(t *testing.T) {
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		batches [][]relay.Event
		titles  []string
		handle  string // alice's handle when shown
	}{
		{"deactivation then first track, one batch",
			[][]relay.Event{{account(alice, false, "deactivated"), put(alice, rk1, rev1, "a", past)}}, nil, ""},
		{"first track then deactivation, one batch",
			[][]relay.Event{{put(alice, rk1, rev1, "a", past), account(alice, false, "deactivated")}}, nil, ""},
		{"deactivation, first track, reactivation, one batch",
			[][]relay.Event{{account(alice, false, "deactivated"), put(alice, rk1, rev1, "a", past), account(alice, true, "")}}, []string{"a"}, ""},
		{"deactivation then first track, two batches",
			[][]relay.Event{{account(alice, false, "deactivated")}, {put(alice, rk1, rev1, "a", past)}}, nil, ""},
		{"deactivated then reactivated before the first track",
			[][]relay.Event{{account(alice, false, "deactivated")}, {account(alice, true, "")}, {put(alice, rk1, rev1, "a", past)}}, []string{"a"}, ""},
		{"takedown then first tombstone, one batch, then a newer create",
			[][]relay.Event{{account(alice, false, "takendown"), del(alice, rk1, rev1)}, {put(alice, rk1, rev2, "a", past)}}, nil, ""},
		{"handle then first track, one batch",
			[][]relay.Event{{identity(alice, "alice.example.com"), put(alice, rk1, rev1, "a", past)}}, []string{"a"}, "alice.example.com"},
		{"handle then first track, two batches, the last handle wins",
			[][]relay.Event{{identity(alice, "old.example.com")}, {identity(alice, "alice.example.com"), account(alice, true, "")}, {put(alice, rk1, rev1, "a", past)}}, []string{"a"}, "alice.example.com"},
		{"no identity event: handle unknown",
			[][]relay.Event{{put(alice, rk1, rev1, "a", past)}}, []string{"a"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			ctx := context.Background()
			for _, b := range tc.batches {
				if _, err := s.ApplyBatch(ctx, b, 0); err != nil {
					t.Fatal(err)
				}
			}
			assertFeed(t, s, tc.titles)
			// Search sees the same: the outbox's last word on the track.
			ch, err := s.Changes(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if shown := len(ch) > 0 && ch[len(ch)-1].Track != nil; shown != (len(tc.titles) > 0) {
				t.Errorf("search would show the track: %v, want %v", shown, len(tc.titles) > 0)
			}
			if len(tc.titles) > 0 {
				if h := handleOf(t, s, alice, rk1); h != tc.handle {
					t.Errorf("handle = %q, want %q", h, tc.handle)
				}
			}
			if n := actorRows(t, s); n != 1 {
				t.Errorf("actors rows = %d, want 1", n)
			}
			if n := s.recent.len(); n != 0 {
				t.Errorf("still remembering %d accounts after their first track", n)
			}
		})
	}
}

// TestRecentAccountsBounded: the memory of accounts without tracks holds at
// most its capacity, forgetting the least recently updated. A forgotten
// account's first track shows (the documented limit: such an account was
// deactivated long before, and the network forwards no commits of an
// inactive account).
func TestRecentAccountsBounded(t *testing.T) {
	s := openTest(t)
	s.recent = newRecentAccounts(2)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	carol := syntax.DID("did:plc:carol4rxbvqptxhmrrkjtu6m")
	for _, did := range []syntax.DID{alice, bob, carol} {
		if _, err := s.ApplyBatch(ctx, []relay.Event{account(did, false, "deactivated")}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.recent.len(); n != 2 {
		t.Fatalf("remembered %d, want 2", n)
	}
	if _, err := s.ApplyBatch(ctx, []relay.Event{put(alice, rk1, rev1, "forgotten", past), put(carol, rk2, rev1, "remembered", past)}, 0); err != nil {
		t.Fatal(err)
	}
	assertFeed(t, s, []string{"forgotten"})
}

// TestIdentityOnlyForKnownActors: an identity event refreshes the handle of
// an account with tracks and stores nothing for any other.
func TestIdentityOnlyForKnownActors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	res, err := s.ApplyBatch(ctx, []relay.Event{
		put(alice, rk1, rev1, "a", past),
		identity(alice, "alice.example.com"),
		identity(bob, "bob.example.com"),
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 2 || res.Stale != 1 {
		t.Errorf("applied/stale = %d/%d, want 2/1", res.Applied, res.Stale)
	}
	if n := actorRows(t, s); n != 1 {
		t.Errorf("actors rows = %d, want 1", n)
	}
	if _, err := s.ApplyBatch(ctx, []relay.Event{identity(alice, "new.example.com")}, 0); err != nil {
		t.Fatal(err)
	}
	if h := handleOf(t, s, alice, rk1); h != "new.example.com" {
		t.Errorf("handle = %q, want new.example.com", h)
	}
}

// TestUnresolvedActors: accounts with tracks and no handle are listed for
// the resolver; a failed lookup waits until its next time; an identity event
// beats a late lookup.
func TestUnresolvedActors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.ApplyBatch(ctx, []relay.Event{
		put(alice, rk1, rev1, "a", past),
		put(bob, rk2, rev1, "b", past), identity(bob, "bob.example.com"),
	}, 0); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	due, err := s.UnresolvedActors(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].DID != alice || due[0].Attempts != 0 {
		t.Fatalf("due = %+v, want alice only", due)
	}
	if err := s.HandleLookupFailed(ctx, due[0], now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.UnresolvedActors(ctx, now, 10); len(due) != 0 {
		t.Errorf("due right after a failure: %+v", due)
	}
	due, _ = s.UnresolvedActors(ctx, now.Add(2*time.Hour), 10)
	if len(due) != 1 || due[0].Attempts != 1 {
		t.Errorf("due an hour later = %+v, want alice with 1 attempt", due)
	}
	if _, err := s.ApplyBatch(ctx, []relay.Event{identity(alice, "alice.example.com")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetResolvedHandle(ctx, relay.UnresolvedActor{DID: alice}, "stale.example.com"); err != nil {
		t.Fatal(err)
	}
	if h := handleOf(t, s, alice, rk1); h != "alice.example.com" {
		t.Errorf("handle = %q: a lookup overwrote the identity event's", h)
	}
}

// TestMigrateActors: a data dir from before schema version 1 loses the rows
// of accounts without tracks, keeps the others, and gains a row for every
// account with tracks.
func TestMigrateActors(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.ApplyBatch(ctx, []relay.Event{put(alice, rk1, rev1, "a", past), put(bob, rk2, rev1, "b", past)}, 0); err != nil {
		t.Fatal(err)
	}
	// Back to the old shape: no resolver columns, actors rows for the
	// network, and bob's tracks without one.
	for _, q := range []string{
		`DROP TABLE actors`,
		`CREATE TABLE actors (did TEXT PRIMARY KEY, handle TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
			status TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL DEFAULT 0)`,
		`INSERT INTO actors (did, handle, active, status) VALUES ('` + alice.String() + `', 'alice.example.com', 0, 'deactivated')`,
		`INSERT INTO actors (did, handle) VALUES ('did:plc:nobody1', 'n1.example.com'), ('did:plc:nobody2', 'n2.example.com')`,
		`PRAGMA user_version = 0`,
	} {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := actorRows(t, s); n != 2 {
		t.Errorf("actors rows after migration = %d, want 2", n)
	}
	// alice keeps her state: still hidden, her handle known.
	assertFeed(t, s, []string{"b"})
	var h string
	if err := s.r.QueryRow(`SELECT handle FROM actors WHERE did = ?`, alice.String()).Scan(&h); err != nil || h != "alice.example.com" {
		t.Errorf("alice's handle after migration = %q, %v", h, err)
	}
	due, err := s.UnresolvedActors(ctx, time.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].DID != bob {
		t.Errorf("due after migration = %+v, want bob", due)
	}
	var v int
	s.r.QueryRow(`PRAGMA user_version`).Scan(&v)
	if v != schemaVersion {
		t.Errorf("user_version = %d, want %d", v, schemaVersion)
	}
}
