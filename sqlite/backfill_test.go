package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// TestResyncTakesAccountState: a repo's first tracks applied by a backfill
// start with what the network last said of the account, as on the live
// path: an account deactivated before it had any row stays hidden, one
// reactivated since is shown. (How the queue's rows move is the store
// contract's, storetest.)
func TestResyncTakesAccountState(t *testing.T) {
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		before []relay.Event
		shown  bool
	}{
		{"deactivated before its first track", []relay.Event{account(alice, false, "deactivated")}, false},
		{"taken down before its first track", []relay.Event{account(alice, false, "takendown")}, false},
		{"deactivated, then reactivated", []relay.Event{account(alice, false, "deactivated"), account(alice, true, "")}, true},
		{"nothing said", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			ctx := context.Background()
			if len(tc.before) > 0 {
				if _, err := s.ApplyBatch(ctx, tc.before, 0); err != nil {
					t.Fatal(err)
				}
			}
			if n := actorRows(t, s); n != 0 {
				t.Fatalf("actors rows before the resync = %d, want 0", n)
			}
			tr := put(alice, rk1, rev1, "backfilled", past).Track
			if _, err := s.ResyncRepo(ctx, alice, rev1, "", []syntax.NSID{relay.TrackCollection}, []*relay.Track{tr}); err != nil {
				t.Fatal(err)
			}
			var want []string
			if tc.shown {
				want = []string{"backfilled"}
			}
			assertFeed(t, s, want)
			ch, err := s.Changes(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if shown := len(ch) > 0 && ch[len(ch)-1].Track != nil; shown != tc.shown {
				t.Errorf("search would show the track: %v, want %v", shown, tc.shown)
			}
			if n := s.recent.len(); n != 0 {
				t.Errorf("still remembering %d accounts after their first track", n)
			}
		})
	}
}
