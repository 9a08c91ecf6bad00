package storetest

import (
	"testing"

	"github.com/relaymusic/relay"
)

func testAccounts(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("an inactive account's tracks are hidden everywhere and leave search", func(t *testing.T) {
		for _, status := range []string{"deactivated", "suspended", "takendown"} {
			t.Run(status, func(t *testing.T) {
				f := newFixture(t, open)
				a1 := track(did(1), rkey(1), rev(1), "a1", base)
				a2 := track(did(1), rkey(2), rev(1), "a2", base)
				other := track(did(2), rkey(3), rev(1), "other", base)
				f.apply(put(a1), put(a2), put(other))
				head := f.head()
				f.apply(account(did(1), false, status))
				for _, tr := range []*relay.Track{a1, a2} {
					f.shownEverywhere(tr.URI(), false)
					if ch := lastChange(f.since(head), tr.URI()); ch == nil || ch.Track != nil {
						t.Errorf("%s: last change after hiding = %+v, want one with nil Track", tr.URI(), ch)
					}
				}
				f.shownEverywhere(other.URI(), true)
				if ch := lastChange(f.since(head), other.URI()); ch != nil {
					t.Errorf("hiding did(1) wrote a change for another account's %s", other.URI())
				}
			})
		}
	})

	t.Run("re-activation shows the tracks again", func(t *testing.T) {
		f := newFixture(t, open)
		a1 := track(did(1), rkey(1), rev(1), "a1", base)
		f.apply(put(a1), account(did(1), false, "deactivated"))
		f.shownEverywhere(a1.URI(), false)
		head := f.head()
		if res := f.apply(account(did(1), true, "")); res.Applied != 1 {
			t.Errorf("ApplyResult = %+v, want 1 applied", res)
		}
		f.shownEverywhere(a1.URI(), true)
		ch := lastChange(f.since(head), a1.URI())
		if ch == nil || ch.Track == nil || ch.Track.Title != a1.Title {
			t.Errorf("last change after re-activation = %+v, want one carrying %q", ch, a1.Title)
		}
	})

	t.Run("a track arriving while its account is inactive stays hidden", func(t *testing.T) {
		f := newFixture(t, open)
		f.apply(put(track(did(1), rkey(1), rev(1), "a1", base)), account(did(1), false, "deactivated"))
		late := track(did(1), rkey(2), rev(2), "late", base)
		f.apply(put(late))
		f.shownEverywhere(late.URI(), false)
		if ch := lastChange(f.since(0), late.URI()); ch != nil && ch.Track != nil {
			t.Errorf("change for %s carries the track of a hidden account", late.URI())
		}
	})

	t.Run("an account status change that keeps it hidden writes no outbox entry", func(t *testing.T) {
		f := newFixture(t, open)
		f.apply(put(track(did(1), rkey(1), rev(1), "a1", base)), account(did(1), false, "deactivated"))
		head := f.head()
		f.apply(account(did(1), false, "deactivated"), account(did(1), false, "suspended"))
		if news := f.since(head); len(news) != 0 {
			t.Errorf("status changes between hidden states wrote %d outbox entries, want none", len(news))
		}
	})

	t.Run("status deleted removes the tracks for good", func(t *testing.T) {
		f := newFixture(t, open)
		a1 := track(did(1), rkey(1), rev(1), "a1", base)
		f.apply(put(a1))
		head := f.head()
		f.apply(account(did(1), false, "deleted"))
		f.shownEverywhere(a1.URI(), false)
		if ch := lastChange(f.since(head), a1.URI()); ch == nil || ch.Track != nil {
			t.Errorf("last change after deletion = %+v, want one with nil Track", ch)
		}
		// An account re-created under the same DID does not bring back the
		// old records, nor does a replay of them.
		f.apply(account(did(1), true, ""), put(a1))
		f.shownEverywhere(a1.URI(), false)
	})

	t.Run("an identity event refreshes the handle", func(t *testing.T) {
		f := newFixture(t, open)
		a1 := track(did(1), rkey(1), rev(1), "a1", base)
		f.apply(put(a1))
		head := f.head()
		steps := []struct {
			handle, want string
		}{{"first.example", "first.example"}, {"second.example", "second.example"}, {"", "second.example"}}
		for _, s := range steps {
			f.apply(identity(did(1), s.handle))
			for where, rows := range map[string][]*relay.StoredTrack{"Feed": f.feed(), "Tracks": f.lookup(a1.URI())} {
				if len(rows) != 1 || rows[0].Handle != s.want {
					t.Errorf("after identity %q: %s handle = %v, want %q", s.handle, where, handles(rows), s.want)
				}
			}
		}
		// Artists are searched by handle: each new handle writes one entry
		// naming a live track of the account; the one without a handle
		// changes nothing yet.
		if news := f.since(head); len(news) != 2 || news[0].URI != a1.URI() || news[1].URI != a1.URI() {
			t.Errorf("identity events wrote outbox entries %v, want two for %s", seqs(news), a1.URI())
		}
	})

	t.Run("an account event in the batch of the account's first track hides it", func(t *testing.T) {
		a1 := track(did(1), rkey(1), rev(1), "a1", base)
		for name, events := range map[string][]relay.Event{
			"account event first": {account(did(1), false, "deactivated"), put(a1)},
			"track first":         {put(a1), account(did(1), false, "deactivated")},
		} {
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, open)
				f.apply(events...)
				f.shownEverywhere(a1.URI(), false)
				if ch := lastChange(f.since(0), a1.URI()); ch != nil && ch.Track != nil {
					t.Errorf("change for %s carries the track of a hidden account", a1.URI())
				}
			})
		}
	})
}
