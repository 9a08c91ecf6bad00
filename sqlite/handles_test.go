package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// dueOf is the resolver's listing entry for did at now, if it is due.
func dueOf(t *testing.T, s *Store, did syntax.DID, now time.Time) (relay.UnresolvedActor, bool) {
	t.Helper()
	due, err := s.UnresolvedActors(context.Background(), now, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range due {
		if a.DID == did {
			return a, true
		}
	}
	return relay.UnresolvedActor{}, false
}

func apply(t *testing.T, s *Store, evs ...relay.Event) relay.ApplyResult {
	t.Helper()
	res, err := s.ApplyBatch(context.Background(), evs, 0)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestIdentityWithoutHandleRechecks: an identity event without a handle (the
// DID document changed; indigo's relay forwards no handle it did not verify)
// marks an account with tracks for a fresh lookup and keeps its handle shown
// until the lookup answers; an answer to an older question, or one that
// comes after an identity event with a handle, changes nothing; an
// unverified answer clears the handle; a failed lookup keeps it. For an
// account without a row it stores nothing.
func TestIdentityWithoutHandleRechecks(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	apply(t, s, put(alice, rk1, rev1, "a", past), identity(alice, "alice.example.com"))
	if _, ok := dueOf(t, s, alice, time.Now()); ok {
		t.Fatal("alice due with a known handle and no recheck")
	}

	// Accounts without rows: nothing stored, nothing remembered.
	if res := apply(t, s, identity(alice, ""), identity(bob, "")); res.Applied != 1 || res.Stale != 1 {
		t.Errorf("applied/stale = %d/%d, want 1/1 (alice marked, bob has no row)", res.Applied, res.Stale)
	}
	if n := actorRows(t, s); n != 1 {
		t.Errorf("actors rows = %d, want 1: a handle-less event made a row", n)
	}
	if _, ok := s.recent.get(bob.String()); ok {
		t.Errorf("a handle-less identity event of an account without a row was remembered")
	}
	if h := handleOf(t, s, alice, rk1); h != "alice.example.com" {
		t.Errorf("handle while the recheck waits = %q, want the old one shown", h)
	}
	first, ok := dueOf(t, s, alice, time.Now())
	if !ok || first.Recheck == 0 || first.Attempts != 0 {
		t.Fatalf("alice after a handle-less event: %+v (due %v), want a recheck due at once", first, ok)
	}

	// A newer handle-less event makes the first question stale.
	apply(t, s, identity(alice, ""))
	second, ok := dueOf(t, s, alice, time.Now())
	if !ok || second.Recheck == first.Recheck {
		t.Fatalf("second recheck %+v, first %+v: want a newer mark", second, first)
	}
	for _, stale := range []relay.UnresolvedActor{first, {DID: alice}} {
		if err := s.SetResolvedHandle(ctx, stale, "stale.example.com"); err != nil {
			t.Fatal(err)
		}
		if err := s.HandleUnverified(ctx, stale, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if h := handleOf(t, s, alice, rk1); h != "alice.example.com" {
		t.Errorf("handle = %q: an answer to an older question was stored", h)
	}

	// The current answer is stored and ends the recheck.
	if err := s.SetResolvedHandle(ctx, second, "alice2.example.com"); err != nil {
		t.Fatal(err)
	}
	if h := handleOf(t, s, alice, rk1); h != "alice2.example.com" {
		t.Errorf("handle after the recheck = %q, want alice2.example.com", h)
	}
	if a, ok := dueOf(t, s, alice, time.Now().Add(48*time.Hour)); ok {
		t.Errorf("still due after the answer: %+v", a)
	}

	// A failed lookup keeps the handle and retries the recheck later.
	apply(t, s, identity(alice, ""))
	a, _ := dueOf(t, s, alice, time.Now())
	if err := s.HandleLookupFailed(ctx, a, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if h := handleOf(t, s, alice, rk1); h != "alice2.example.com" {
		t.Errorf("handle after a failed recheck = %q, want it kept", h)
	}
	if _, ok := dueOf(t, s, alice, time.Now()); ok {
		t.Errorf("due again right after a failure")
	}
	retry, ok := dueOf(t, s, alice, time.Now().Add(2*time.Hour))
	if !ok || retry.Recheck != a.Recheck || retry.Attempts != 1 {
		t.Fatalf("after the backoff: %+v (due %v), want the same recheck, 1 attempt", retry, ok)
	}

	// An unverified answer clears the handle; the account is then an
	// unknown handle, retried after the backoff.
	if err := s.HandleUnverified(ctx, retry, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if h := handleOf(t, s, alice, rk1); h != "" {
		t.Errorf("handle after an unverified recheck = %q, want none", h)
	}
	if u, ok := dueOf(t, s, alice, time.Now().Add(2*time.Hour)); !ok || u.Recheck != 0 || u.Attempts != 2 {
		t.Errorf("after an unverified recheck: %+v (due %v), want an unknown handle, 2 attempts", u, ok)
	}

	// An identity event with a handle answers a pending recheck, and a
	// lookup in flight loses to it.
	apply(t, s, identity(alice, "alice3.example.com"), identity(alice, ""))
	pending, _ := dueOf(t, s, alice, time.Now())
	apply(t, s, identity(alice, "alice3.example.com"))
	if a, ok := dueOf(t, s, alice, time.Now()); ok {
		t.Errorf("due after an identity event with a handle: %+v", a)
	}
	if err := s.SetResolvedHandle(ctx, pending, "late.example.com"); err != nil {
		t.Fatal(err)
	}
	if h := handleOf(t, s, alice, rk1); h != "alice3.example.com" {
		t.Errorf("handle = %q, want the identity event's alice3.example.com", h)
	}

	// handle.invalid in an event still clears the shown one (appview hides it).
	apply(t, s, identity(alice, syntax.HandleInvalid.String()))
	if h := handleOf(t, s, alice, rk1); h != syntax.HandleInvalid.String() {
		t.Errorf("handle after handle.invalid = %q", h)
	}
}

// TestFirstTrackAfterHandlelessIdentity: an account without tracks whose
// remembered handle is followed by a handle-less identity event starts,
// at its first track, with no handle and a lookup due, not the stale one.
func TestFirstTrackAfterHandlelessIdentity(t *testing.T) {
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		batches [][]relay.Event
		want    string
	}{
		{"remembered then handle-less", [][]relay.Event{{identity(bob, "bob.example.com")}, {identity(bob, "")}, {put(bob, rk2, rev1, "b", past)}}, ""},
		{"same batch", [][]relay.Event{{identity(bob, "bob.example.com"), identity(bob, ""), put(bob, rk2, rev1, "b", past)}}, ""},
		{"handle-less then handle", [][]relay.Event{{identity(bob, "")}, {identity(bob, "bob.example.com")}, {put(bob, rk2, rev1, "b", past)}}, "bob.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			for _, b := range tc.batches {
				apply(t, s, b...)
			}
			if h := handleOf(t, s, bob, rk2); h != tc.want {
				t.Errorf("handle = %q, want %q", h, tc.want)
			}
			if _, ok := dueOf(t, s, bob, time.Now()); ok != (tc.want == "") {
				t.Errorf("due = %v, want %v", ok, tc.want == "")
			}
		})
	}
}

// TestMigrateV1HandleRecheck: a version 1 file gains handle_recheck, keeps
// its rows, and trades the old resolver index for one the resolver's
// listing uses.
func TestMigrateV1HandleRecheck(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	path := s.path
	for _, q := range []string{
		`DROP TABLE actors`,
		// actors as version 1 made it.
		`CREATE TABLE actors (did TEXT PRIMARY KEY, handle TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
			status TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL DEFAULT 0,
			handle_attempts INTEGER NOT NULL DEFAULT 0, handle_next_at INTEGER NOT NULL DEFAULT 0)`,
		`CREATE INDEX actors_handle_todo ON actors (handle_next_at) WHERE handle = ''`,
		`INSERT INTO actors (did, handle) VALUES ('` + alice.String() + `', 'alice.example.com')`,
		`INSERT INTO actors (did, handle_attempts, handle_next_at) VALUES ('` + bob.String() + `', 3, 5)`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.r.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != schemaVersion {
		t.Errorf("user_version = %d (%v), want %d", v, err, schemaVersion)
	}
	if b, ok := dueOf(t, s, bob, time.Now()); !ok || b.Attempts != 3 || b.Recheck != 0 {
		t.Errorf("bob after migration: %+v (due %v), want 3 attempts, no recheck", b, ok)
	}
	apply(t, s, put(alice, rk1, rev1, "a", past), identity(alice, ""))
	if a, ok := dueOf(t, s, alice, time.Now()); !ok || a.Recheck == 0 {
		t.Errorf("alice after a handle-less event on a migrated file: %+v (due %v)", a, ok)
	}
	if h := handleOf(t, s, alice, rk1); h != "alice.example.com" {
		t.Errorf("alice's handle after migration = %q", h)
	}
	var old int
	s.r.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'actors_handle_todo'`).Scan(&old)
	if old != 0 {
		t.Errorf("the version 1 index is still there")
	}
	var plan strings.Builder
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN `+unresolvedQuery, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "; ")
	}
	if !strings.Contains(plan.String(), "actors_handle_due") {
		t.Errorf("the resolver's listing does not use actors_handle_due: %s", plan.String())
	}
}

// TestResyncWithoutHandleKeepsLookups: a backfill snapshot whose handle did
// not verify passes "" to ResyncRepo. That says nothing about the DID
// document, so it must neither mark a recheck (resetting the resolver's
// backoff at every backfill) nor clear the handle shown.
func TestResyncWithoutHandleKeepsLookups(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := put(alice, rk1, rev1, "a", past)
	apply(t, s, ev, identity(alice, "alice.example.com"))
	tr := *ev.Track
	tr.Rev = rev2
	if _, err := s.ResyncRepo(ctx, alice, rev2, "", []syntax.NSID{relay.TrackCollection}, []*relay.Track{&tr}); err != nil {
		t.Fatal(err)
	}
	if a, ok := dueOf(t, s, alice, time.Now()); ok {
		t.Errorf("a resync without a handle made alice due for a lookup: %+v", a)
	}
	if h := handleOf(t, s, alice, rk1); h != "alice.example.com" {
		t.Errorf("handle after a resync without one = %q, want alice.example.com kept", h)
	}
}
