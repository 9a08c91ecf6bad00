package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/relaymusic/relay"
)

// checkTrack fails unless got carries every field of want. A zero
// want.IndexedAt means the store picks it: it must then lie in
// [before, after], the span of the ApplyBatch call.
func checkTrack(t *testing.T, where string, got, want *relay.Track, before, after time.Time) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: %s missing", where, want.URI())
		return
	}
	eq := func(field string, g, w any) {
		t.Helper()
		if g != w {
			t.Errorf("%s: %s %s = %v, want %v", where, want.URI(), field, g, w)
		}
	}
	eq("DID", got.DID, want.DID)
	eq("RKey", got.RKey, want.RKey)
	eq("Rev", got.Rev, want.Rev)
	eq("CID", got.CID, want.CID)
	eq("Title", got.Title, want.Title)
	eq("Artist", got.Artist, want.Artist)
	eq("Album", got.Album, want.Album)
	eq("Genre", got.Genre, want.Genre)
	eq("Description", got.Description, want.Description)
	eq("FileType", got.FileType, want.FileType)
	eq("AudioURL", got.AudioURL, want.AudioURL)
	eq("ImageURL", got.ImageURL, want.ImageURL)
	if !slices.Equal(emptyOr(got.Tags), emptyOr(want.Tags)) {
		t.Errorf("%s: %s Tags = %q, want %q", where, want.URI(), got.Tags, want.Tags)
	}
	if !slices.Equal(emptyOr(got.Features), emptyOr(want.Features)) {
		t.Errorf("%s: %s Features = %+v, want %+v", where, want.URI(), got.Features, want.Features)
	}
	switch {
	case (got.Duration == nil) != (want.Duration == nil):
		t.Errorf("%s: %s Duration = %v, want %v (nil and set differ)", where, want.URI(), got.Duration, want.Duration)
	case got.Duration != nil && *got.Duration != *want.Duration:
		t.Errorf("%s: %s Duration = %d, want %d", where, want.URI(), *got.Duration, *want.Duration)
	}
	if !sameJSON(got.Record, want.Record) {
		t.Errorf("%s: %s Record = %s, want %s", where, want.URI(), got.Record, want.Record)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: %s CreatedAt = %v, want %v", where, want.URI(), got.CreatedAt, want.CreatedAt)
	}
	if !want.IndexedAt.IsZero() {
		if !got.IndexedAt.Equal(want.IndexedAt) {
			t.Errorf("%s: %s IndexedAt = %v, want the event's %v", where, want.URI(), got.IndexedAt, want.IndexedAt)
		}
	} else if got.IndexedAt.Before(before.Truncate(time.Microsecond)) || got.IndexedAt.After(after) {
		t.Errorf("%s: %s IndexedAt = %v, want within the apply call [%v, %v]", where, want.URI(), got.IndexedAt, before, after)
	}
	if w := relay.SortTime(want.CreatedAt, got.IndexedAt); !got.SortAt.Equal(w) {
		t.Errorf("%s: %s SortAt = %v, want min(createdAt, indexedAt) = %v", where, want.URI(), got.SortAt, w)
	}
}

func testApply(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("a put round-trips every field through Feed and Tracks", func(t *testing.T) {
		f := newFixture(t, open)
		dur := int64(247)
		full := track(did(1), rkey(1), rev(1), "Hoppípolla", base.Add(-time.Hour))
		full.Album, full.Genre, full.Description = "Takk...", "post-rock", "a song about jumping into puddles"
		full.Tags = []string{"icelandic", "strings"}
		full.Duration = &dur
		full.ImageURL = "https://img.example/takk.jpg"
		full.Features = []relay.Feature{{DID: "did:plc:jonsi", Handle: "jonsi.example", DisplayName: "Jónsi"}}
		// Dated in the future: sortAt must fall back to indexedAt.
		bare := track(did(2), rkey(2), rev(1), "Untitled #1", time.Now().Add(24*time.Hour).Truncate(time.Microsecond))
		// A put that says when it was first seen keeps that.
		seen := track(did(3), rkey(3), rev(1), "Svefn-g-englar", base.Add(-48*time.Hour))
		seen.IndexedAt = base.Add(-24 * time.Hour)
		before := time.Now()
		res := f.applyAt(42, put(full), put(bare), put(seen))
		after := time.Now()
		if res.Applied != 3 || res.Stale != 0 {
			t.Errorf("ApplyResult = %+v, want 3 applied, 0 stale", res)
		}
		feed := map[string]*relay.Track{}
		for _, r := range f.feed() {
			feed[string(r.URI())] = &r.Track
		}
		for _, want := range []*relay.Track{full, bare, seen} {
			checkTrack(t, "Feed", feed[string(want.URI())], want, before, after)
			var got *relay.Track
			if r := f.get(want.URI()); r != nil {
				got = &r.Track
			}
			checkTrack(t, "Tracks", got, want, before, after)
		}
		if got, err := f.b.Cursor(f.ctx); err != nil || got != 42 {
			t.Errorf("Cursor() = %d, %v; want 42, the batch's", got, err)
		}
	})

	t.Run("the cursor moves only with a batch that carries one", func(t *testing.T) {
		f := newFixture(t, open)
		steps := []struct {
			cursor, want int64
		}{{0, 0}, {100, 100}, {0, 100}, {250, 250}}
		for i, s := range steps {
			f.applyAt(s.cursor, put(track(did(1), rkey(i), rev(1), "t", base)))
			if got, err := f.b.Cursor(f.ctx); err != nil || got != s.want {
				t.Errorf("after batch %d with cursor %d: Cursor() = %d, %v; want %d", i, s.cursor, got, err, s.want)
			}
		}
	})

	t.Run("a batch that fails stores none of its rows, outbox entries or cursor", func(t *testing.T) {
		f := newFixture(t, open)
		f.applyAt(10, put(track(did(1), rkey(1), rev(1), "first", base)))
		head := f.head()
		tr := track(did(1), rkey(2), rev(1), "never", base)
		if _, err := f.b.ApplyBatch(f.ctx, []relay.Event{put(tr), {Kind: relay.EventKind(99), DID: did(1)}}, 20); err == nil {
			t.Fatal("ApplyBatch with an unknown event kind returned no error")
		}
		if f.get(tr.URI()) != nil {
			t.Errorf("%s stored by a failed batch", tr.URI())
		}
		if got := f.head(); got != head {
			t.Errorf("OutboxSeq = %d after a failed batch, want %d", got, head)
		}
		if got, _ := f.b.Cursor(f.ctx); got != 10 {
			t.Errorf("Cursor() = %d after a failed batch, want 10", got)
		}
	})

	t.Run("an update keeps indexedAt from the first sighting", func(t *testing.T) {
		f := newFixture(t, open)
		v1 := track(did(1), rkey(1), rev(1), "v1", base)
		f.apply(put(v1))
		first := f.get(v1.URI())
		time.Sleep(2 * time.Millisecond)
		v2 := track(did(1), rkey(1), rev(2), "v2", base.Add(time.Minute))
		before := time.Now()
		f.apply(put(v2))
		got := f.get(v2.URI())
		if first == nil || got == nil {
			t.Fatal("track missing")
		}
		v2.IndexedAt = first.IndexedAt
		checkTrack(t, "Tracks after update", &got.Track, v2, before, time.Now())
	})

	t.Run("ApplyResult counts applied and stale events", func(t *testing.T) {
		a := track(did(1), rkey(1), rev(2), "a", base)
		older := track(did(1), rkey(1), rev(1), "a older", base)
		newer := track(did(1), rkey(1), rev(3), "a newer", base)
		cases := []struct {
			name           string
			events         []relay.Event
			applied, stale int
		}{
			{"one put", []relay.Event{put(a)}, 1, 0},
			{"a put twice", []relay.Event{put(a), put(a)}, 1, 1},
			{"a put then an older one", []relay.Event{put(a), put(older)}, 1, 1},
			{"a put then a newer one", []relay.Event{put(a), put(newer)}, 2, 0},
			{"a put, a delete, a replayed put", []relay.Event{put(a), del(a.DID, a.RKey, rev(3)), put(a)}, 2, 1},
			{"identity for an account with a track", []relay.Event{put(a), identity(a.DID, "a.example"), identity(a.DID, "a.example")}, 2, 1},
			{"account status for an account with a track", []relay.Event{put(a), account(a.DID, false, "deactivated"), account(a.DID, false, "deactivated")}, 2, 1},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newFixture(t, open)
				if got := f.apply(c.events...); got.Applied != c.applied || got.Stale != c.stale {
					t.Errorf("ApplyResult = %+v, want %d applied, %d stale", got, c.applied, c.stale)
				}
			})
		}
	})
}

func testStaleRev(t *testing.T, open func(t *testing.T) Backend) {
	cur := track(did(1), rkey(1), rev(5), "current", base)
	cases := []struct {
		name      string
		event     relay.Event
		wantTitle string // "" = gone
		stale     bool
	}{
		{"an update at an older rev changes nothing", put(track(did(1), rkey(1), rev(4), "older", base)), "current", true},
		{"an update at the same rev changes nothing", put(track(did(1), rkey(1), rev(5), "same rev", base)), "current", true},
		{"an update at a newer rev applies", put(track(did(1), rkey(1), rev(6), "newer", base)), "newer", false},
		{"a delete at an older rev is ignored", del(did(1), rkey(1), rev(4)), "current", true},
		{"a delete at the same rev is ignored", del(did(1), rkey(1), rev(5)), "current", true},
		{"a delete at a newer rev applies", del(did(1), rkey(1), rev(6)), "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, open)
			f.apply(put(cur))
			head := f.head()
			res := f.apply(c.event)
			if c.stale && (res.Stale != 1 || res.Applied != 0) {
				t.Errorf("ApplyResult = %+v, want 1 stale", res)
			}
			if !c.stale && (res.Applied != 1 || res.Stale != 0) {
				t.Errorf("ApplyResult = %+v, want 1 applied", res)
			}
			got := f.get(cur.URI())
			switch {
			case c.wantTitle == "" && got != nil:
				t.Errorf("track still shown (%q), want gone", got.Title)
			case c.wantTitle != "" && got == nil:
				t.Errorf("track gone, want %q", c.wantTitle)
			case c.wantTitle != "" && got.Title != c.wantTitle:
				t.Errorf("title = %q, want %q", got.Title, c.wantTitle)
			}
			news := f.since(head)
			if c.stale && len(news) != 0 {
				t.Errorf("a stale event wrote %d outbox entries, want none", len(news))
			}
			if !c.stale && lastChange(news, cur.URI()) == nil {
				t.Errorf("an applied event wrote no outbox entry for %s", cur.URI())
			}
		})
	}
}

func testTombstone(t *testing.T, open func(t *testing.T) Backend) {
	created := track(did(1), rkey(1), rev(1), "live", base)
	cases := []struct {
		name    string
		create  *relay.Track
		resurge bool
	}{
		{"a replayed create at an older rev than the delete stays deleted", created, false},
		{"a create at the delete's rev stays deleted", track(did(1), rkey(1), rev(2), "same rev", base), false},
		{"a create at a newer rev than the delete resurrects", track(did(1), rkey(1), rev(3), "again", base), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, open)
			f.apply(put(created))
			f.apply(del(created.DID, created.RKey, rev(2)))
			f.shownEverywhere(created.URI(), false)
			if ch := lastChange(f.since(0), created.URI()); ch == nil || ch.Track != nil {
				t.Errorf("after delete: last change for %s = %+v, want one with nil Track", created.URI(), ch)
			}
			head := f.head()
			res := f.apply(put(c.create))
			f.shownEverywhere(created.URI(), c.resurge)
			news := f.since(head)
			if c.resurge {
				if res.Applied != 1 {
					t.Errorf("ApplyResult = %+v, want 1 applied", res)
				}
				if got := f.get(created.URI()); got != nil && got.Title != c.create.Title {
					t.Errorf("title = %q, want %q", got.Title, c.create.Title)
				}
				if ch := lastChange(news, created.URI()); ch == nil || ch.Track == nil {
					t.Errorf("resurrection: last change = %+v, want one with the track", ch)
				}
			} else {
				if res.Stale != 1 {
					t.Errorf("ApplyResult = %+v, want 1 stale", res)
				}
				if len(news) != 0 {
					t.Errorf("a create under a tombstone wrote %d outbox entries, want none", len(news))
				}
			}
		})
	}
	t.Run("a delete before any create leaves a tombstone", func(t *testing.T) {
		f := newFixture(t, open)
		f.apply(del(created.DID, created.RKey, rev(2)))
		f.apply(put(created)) // rev(1): older than the delete
		f.shownEverywhere(created.URI(), false)
	})
}
