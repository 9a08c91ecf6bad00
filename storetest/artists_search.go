package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// credited is a track of d, rk n, crediting artist.
func credited(d syntax.DID, n int, artist string) *relay.Track {
	tr := track(d, rkey(n), rev(1), fmt.Sprintf("t%d", n), base.Add(time.Duration(n)*time.Minute))
	tr.Artist = artist
	return tr
}

func (f *fixture) artistNames(perArtist int, dids ...syntax.DID) map[syntax.DID][]string {
	f.t.Helper()
	names, err := f.b.ArtistNames(f.ctx, dids, perArtist)
	if err != nil {
		f.t.Fatalf("ArtistNames: %v", err)
	}
	return names
}

// testArtistsSearch: what search reads to build artist documents
// (search.ArtistSource), and the outbox entry a handle change writes.
func testArtistsSearch(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("artist names: visible tracks only, most credited first, bounded", func(t *testing.T) {
		f := newFixture(t, open)
		f.apply(
			put(credited(did(1), 1, "Björk")), put(credited(did(1), 2, "Björk")), put(credited(did(1), 3, "Björk")),
			put(credited(did(1), 4, "Sugarcubes")), put(credited(did(1), 5, "Sugarcubes")),
			put(credited(did(1), 6, "Kukl")), put(credited(did(1), 7, "Bjork")),
			put(credited(did(1), 8, "Gone")),
			put(credited(did(2), 1, "Hidden")),
			put(credited(did(3), 1, "Other")),
		)
		f.apply(del(did(1), rkey(8), rev(2)), account(did(2), false, "deactivated"))
		got := f.artistNames(10, did(1), did(2), did(3), did(4))
		want := map[syntax.DID][]string{
			// Ties (one track each) by name; the deleted track's name is gone.
			did(1): {"Björk", "Sugarcubes", "Bjork", "Kukl"},
			did(3): {"Other"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ArtistNames = %v, want %v", got, want)
		}
		if got := f.artistNames(2, did(1)); !slices.Equal(got[did(1)], []string{"Björk", "Sugarcubes"}) {
			t.Errorf("ArtistNames(perArtist 2) = %v", got)
		}
		if got := f.artistNames(0, did(1)); len(got) != 0 {
			t.Errorf("ArtistNames(perArtist 0) = %v, want none", got)
		}
		f.apply(account(did(2), true, ""))
		if got := f.artistNames(10, did(2)); !slices.Equal(got[did(2)], []string{"Hidden"}) {
			t.Errorf("reactivated: %v", got)
		}
	})

	t.Run("artist names follow renames, audio, deletes and resurrection", func(t *testing.T) {
		f := newFixture(t, open)
		a, b := credited(did(1), 1, "Nova"), credited(did(1), 2, "Nova")
		f.apply(put(a), put(b), put(credited(did(1), 3, "Lanterns")))
		check := func(when string, want ...string) {
			t.Helper()
			if got := f.artistNames(10, did(1))[did(1)]; !slices.Equal(got, want) {
				t.Errorf("%s: ArtistNames = %q, want %q", when, got, want)
			}
		}
		check("at first", "Nova", "Lanterns")
		// An update that renames the credit moves the track's count.
		ren := credited(did(1), 1, "Lanterns")
		ren.Rev = rev(2)
		f.apply(put(ren))
		check("after a rename", "Lanterns", "Nova")
		// Audio gone: the track leaves the counts; back: it returns.
		f.syncAudio(base, 100)
		ca := f.dueAudio(base)[b.URI()]
		ca.Status, ca.Misses, ca.CheckedAt, ca.NextAt = relay.AudioMissing, 2, base, base.Add(time.Hour)
		f.saveAudio(ca)
		check("with Nova's audio missing", "Lanterns")
		ca.Status, ca.Misses, ca.NextAt = relay.AudioOK, 0, base.Add(2*time.Hour)
		f.saveAudio(ca)
		check("with the audio back", "Lanterns", "Nova")
		// A delete, a replayed older create that the tombstone blocks, and
		// a newer create that brings the track back.
		f.apply(del(did(1), rkey(2), rev(3)))
		check("after the delete", "Lanterns")
		f.apply(put(b))
		check("after a stale replay", "Lanterns")
		back := credited(did(1), 2, "Nova")
		back.Rev = rev(4)
		f.apply(put(back))
		check("after the resurrection", "Lanterns", "Nova")
	})

	t.Run("artist names: many accounts in one call", func(t *testing.T) {
		f := newFixture(t, open)
		// More than one chunk of any IN list a backend may cut it into.
		const n = 1200
		var evs []relay.Event
		var dids []syntax.DID
		for i := range n {
			evs = append(evs, put(credited(did(100+i), 1, fmt.Sprintf("name %d", i))))
			dids = append(dids, did(100+i))
		}
		f.apply(evs...)
		got := f.artistNames(3, dids...)
		if len(got) != n {
			t.Fatalf("ArtistNames of %d accounts: %d answered", n, len(got))
		}
		for i, d := range dids {
			if want := fmt.Sprintf("name %d", i); !slices.Equal(got[d], []string{want}) {
				t.Fatalf("%s: %v, want [%s]", d, got[d], want)
			}
		}
	})

	t.Run("a handle change writes one entry naming a live track", func(t *testing.T) {
		f := newFixture(t, open)
		a1, a2 := credited(did(1), 1, "A"), credited(did(1), 2, "A")
		f.apply(put(a1), put(a2), put(credited(did(2), 1, "B")), identity(did(1), "old.example"), identity(did(2), "b.example"))
		f.apply(del(did(2), rkey(1), rev(2)))
		head := f.head()
		f.apply(identity(did(1), "new.example"))
		news := f.since(head)
		if len(news) != 1 || (news[0].URI != a1.URI() && news[0].URI != a2.URI()) {
			t.Fatalf("rename wrote %v, want one entry for a track of %s", seqs(news), did(1))
		}
		// Renamed to the same handle: nothing.
		head = f.head()
		f.apply(identity(did(1), "new.example"))
		if news := f.since(head); len(news) != 0 {
			t.Errorf("the same handle again wrote %v", seqs(news))
		}
		// An account whose tracks are all deleted has no artist to refresh.
		f.apply(identity(did(2), "b2.example"))
		if news := f.since(head); len(news) != 0 {
			t.Errorf("renaming an account without live tracks wrote %v", seqs(news))
		}
	})
}
