package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// syncAudio queues the audio checker's work until none is left.
func (f *fixture) syncAudio(now time.Time, limit int) {
	f.t.Helper()
	for i := 0; ; i++ {
		more, err := f.b.SyncAudioChecks(f.ctx, now, limit)
		if err != nil {
			f.t.Fatalf("SyncAudioChecks: %v", err)
		}
		if !more {
			return
		}
		if i > 10000 {
			f.t.Fatal("SyncAudioChecks says more after 10000 calls")
		}
	}
}

func (f *fixture) dueAudio(now time.Time) map[syntax.ATURI]relay.AudioCheck {
	f.t.Helper()
	cs, err := f.b.DueAudioChecks(f.ctx, now, 1000)
	if err != nil {
		f.t.Fatalf("DueAudioChecks: %v", err)
	}
	out := map[syntax.ATURI]relay.AudioCheck{}
	for _, c := range cs {
		if _, dup := out[c.URI()]; dup {
			f.t.Fatalf("DueAudioChecks listed %s twice", c.URI())
		}
		out[c.URI()] = c
	}
	return out
}

func (f *fixture) saveAudio(c relay.AudioCheck) bool {
	f.t.Helper()
	changed, err := f.b.SaveAudioCheck(f.ctx, c)
	if err != nil {
		f.t.Fatalf("SaveAudioCheck: %v", err)
	}
	return changed
}

// audioListed reports whether uri is in the discovery feed, its artist's feed
// and VisibleTracks (want) or in none; Tracks finds it either way.
func (f *fixture) audioListed(tr *relay.Track, want bool) {
	f.t.Helper()
	uri := tr.URI()
	has := func(rows []*relay.StoredTrack) bool {
		return slices.ContainsFunc(rows, func(r *relay.StoredTrack) bool { return r.URI() == uri })
	}
	inFeed, inArtist := has(f.feed()), has(f.artistFeed(tr.DID, "", nil, 100))
	_, inVisible := f.visible()[uri]
	if inFeed != want || inArtist != want || inVisible != want {
		f.t.Errorf("%s listed: Feed %v, ArtistFeed %v, VisibleTracks %v; want %v everywhere", uri, inFeed, inArtist, inVisible, want)
	}
	if f.get(uri) == nil {
		f.t.Errorf("Tracks(%s) lost a track whose audio is %v", uri, map[bool]string{true: "there", false: "missing"}[want])
	}
}

func testAudio(t *testing.T, open func(t *testing.T) Backend) {
	now := base.Add(time.Hour)

	t.Run("missing audio leaves the lists and search, not its uri; found again it comes back", func(t *testing.T) {
		f := newFixture(t, open)
		a := track(did(1), rkey(1), rev(1), "a", base)
		b := track(did(1), rkey(2), rev(1), "b", base)
		f.apply(put(a), put(b))
		f.syncAudio(now, 100)
		due := f.dueAudio(now)
		ca, ok := due[a.URI()]
		if !ok || len(due) != 2 {
			t.Fatalf("due after the first sync: %v, want a and b", due)
		}
		if ca.AudioURL != a.AudioURL || ca.Status != relay.AudioUnchecked || ca.Misses != 0 {
			t.Fatalf("a new track's check = %+v, want unchecked at %s", ca, a.AudioURL)
		}
		if got := f.get(a.URI()).AudioStatus; got != relay.AudioUnchecked {
			t.Errorf("AudioStatus before any check = %q, want unchecked", got)
		}

		head := f.head()
		ca.Status, ca.Misses, ca.CheckedAt, ca.NextAt = relay.AudioMissing, 2, now, now.Add(time.Hour)
		if !f.saveAudio(ca) {
			t.Error("hiding a track reported no change")
		}
		f.audioListed(a, false)
		f.audioListed(b, true)
		if got := f.artists(did(1))[did(1)].TrackCount; got != 1 {
			t.Errorf("artist's TrackCount with one track's audio missing = %d, want 1", got)
		}
		if ch := lastChange(f.since(head), a.URI()); ch == nil || ch.Track != nil {
			t.Errorf("last change after hiding %s = %+v, want one with nil Track (search deletes it)", a.URI(), ch)
		}
		if got := f.get(a.URI()).AudioStatus; got != relay.AudioMissing {
			t.Errorf("AudioStatus of a hidden track = %q, want missing", got)
		}
		if _, due := f.dueAudio(now)[a.URI()]; due {
			t.Error("a check saved with next an hour away is still due now")
		}
		if _, due := f.dueAudio(now.Add(time.Hour))[a.URI()]; !due {
			t.Error("a missing track is not due at its next check")
		}

		head = f.head()
		ca.Status, ca.Misses, ca.CheckedAt, ca.NextAt = relay.AudioOK, 0, now.Add(time.Hour), now.Add(7*24*time.Hour)
		if !f.saveAudio(ca) {
			t.Error("showing a track again reported no change")
		}
		f.audioListed(a, true)
		if got := f.artists(did(1))[did(1)].TrackCount; got != 2 {
			t.Errorf("artist's TrackCount with the audio found again = %d, want 2", got)
		}
		if ch := lastChange(f.since(head), a.URI()); ch == nil || ch.Track == nil || ch.Track.Title != "a" {
			t.Errorf("last change after finding %s = %+v, want one carrying it", a.URI(), ch)
		}
		if got := f.get(a.URI()).AudioStatus; got != relay.AudioOK {
			t.Errorf("AudioStatus after an answer = %q, want ok", got)
		}
		head = f.head()
		if f.saveAudio(ca) {
			t.Error("saving the same state again reported a change")
		}
		if len(f.since(head)) != 0 {
			t.Error("a check that changed nothing shown wrote to the outbox")
		}
	})

	t.Run("a changed audioUrl resets the state and shows the track until checked", func(t *testing.T) {
		f := newFixture(t, open)
		a := track(did(1), rkey(1), rev(1), "a", base)
		f.apply(put(a))
		f.syncAudio(now, 100)
		ca := f.dueAudio(now)[a.URI()]
		ca.Status, ca.Misses, ca.CheckedAt, ca.NextAt = relay.AudioMissing, 2, now, now.Add(time.Hour)
		f.saveAudio(ca)
		f.audioListed(a, false)

		moved := *a
		moved.Rev, moved.AudioURL = rev(2), "https://audio.example/moved.mp3"
		f.apply(put(&moved))
		later := now.Add(time.Minute)
		f.syncAudio(later, 100)
		f.audioListed(a, true)
		c, ok := f.dueAudio(later)[a.URI()]
		if !ok || c.AudioURL != moved.AudioURL || c.Status != relay.AudioUnchecked || c.Misses != 0 {
			t.Fatalf("check after the URL changed = %+v (due %v), want unchecked at %s, due at once", c, ok, moved.AudioURL)
		}
		if got := f.get(a.URI()).AudioStatus; got != relay.AudioUnchecked {
			t.Errorf("AudioStatus after the URL changed = %q, want unchecked", got)
		}
		// An outcome for the old URL, finished after the change, is dropped.
		ca.Status, ca.NextAt = relay.AudioMissing, later.Add(time.Hour)
		if f.saveAudio(ca) {
			t.Error("an outcome for the old URL changed the track")
		}
		f.audioListed(a, true)
		if _, due := f.dueAudio(later)[a.URI()]; !due {
			t.Error("an outcome for the old URL rescheduled the new one")
		}
	})

	t.Run("tracks already stored are queued, a bounded number per call", func(t *testing.T) {
		f := newFixture(t, open)
		var all []*relay.Track
		for i := range 7 {
			tr := track(did(1+i%2), rkey(i), rev(1), "t", base)
			all = append(all, tr)
			f.apply(put(tr))
		}
		more, err := f.b.SyncAudioChecks(f.ctx, now, 3)
		if err != nil || !more {
			t.Fatalf("first sync of 7 tracks by 3: more %v, err %v; want more", more, err)
		}
		if n := len(f.dueAudio(now)); n > 3*2 {
			t.Errorf("one sync with limit 3 queued %d tracks", n)
		}
		f.syncAudio(now, 3)
		due := f.dueAudio(now)
		for _, tr := range all {
			if _, ok := due[tr.URI()]; !ok {
				t.Errorf("%s was never queued", tr.URI())
			}
		}
	})

	t.Run("a deleted track leaves the queue", func(t *testing.T) {
		f := newFixture(t, open)
		a := track(did(1), rkey(1), rev(1), "a", base)
		f.apply(put(a))
		f.syncAudio(now, 100)
		f.apply(del(a.DID, a.RKey, rev(2)))
		f.syncAudio(now, 100)
		if _, due := f.dueAudio(now)[a.URI()]; due {
			t.Error("a deleted track is still due for an audio check")
		}
	})
}
