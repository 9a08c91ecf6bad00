package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymusic/relay/internal/testnet"
)

// visibleWithin bounds how long a write may take to show up in relay, for
// the checks that are not about timing. Generous: this is a 2-core machine
// running a PDS, Jetstream and relay at once.
const visibleWithin = 30 * time.Second

// handleWithin bounds how long after its first track an account's handle
// shows: the resolver polls every second, then one PLC lookup.
const handleWithin = 10 * time.Second

// TestCreateSearchable: a track created on the PDS reaches searchTracks and
// getDiscoveryFeed with the uri, cid and handle the PDS gave it; then the
// delay from createRecord returning to the track being searchable, over 100
// tracks written one after another.
func TestCreateSearchable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	relay := startRelay(t)
	acct := newAccount(t, ctx, "create")

	tr := createTrack(t, ctx, acct, "first light")
	waitVisible(t, relay, tr.uri, tr.word, tr.title, visibleWithin)
	view := waitHandle(t, relay, tr, acct.Handle, handleWithin)
	sv, err := relay.inSearch(tr.word, tr.uri)
	if err != nil || sv == nil {
		t.Fatalf("search view of %s: %v %v", tr.uri, sv, err)
	}
	for _, v := range []struct {
		from string
		view trackView
	}{{"feed", view}, {"search", *sv}} {
		if v.view.URI != tr.uri || v.view.CID != tr.cid {
			t.Errorf("%s view uri/cid = %s %s, want %s %s", v.from, v.view.URI, v.view.CID, tr.uri, tr.cid)
		}
		if v.view.DID != acct.DID {
			t.Errorf("%s view did = %q, want %q", v.from, v.view.DID, acct.DID)
		}
		if v.view.Handle != acct.Handle {
			t.Errorf("%s view handle = %q, want %q", v.from, v.view.Handle, acct.Handle)
		}
		if v.view.Title != tr.title || v.view.Artist != "e2e artist" || v.view.FileType != "mp3" ||
			v.view.Duration == nil || *v.view.Duration != 240 || !strings.HasPrefix(v.view.AudioURL, "https://audio.example/") {
			t.Errorf("%s view fields wrong: %+v", v.from, v.view)
		}
		var rec map[string]any
		if err := json.Unmarshal(v.view.Record, &rec); err != nil || rec["title"] != tr.title || rec["$type"] != trackNSID {
			t.Errorf("%s view record = %s (%v)", v.from, v.view.Record, err)
		}
	}
	// Searching a prefix of the title word finds it too (search as you type).
	if pv, err := relay.inSearch(tr.word[:6], tr.uri); err != nil || pv == nil {
		t.Errorf("prefix %q of the title does not find the track (%v)", tr.word[:6], err)
	}

	// Latency: 100 tracks written one after another, all with the run's
	// common word; one poller searches that word (newest first) and notes
	// when each track first shows up.
	const n = 100
	common := word()
	var (
		mu        sync.Mutex
		createdAt = map[string]time.Time{}
		seenAt    = map[string]time.Time{}
	)
	stop := make(chan struct{})
	pollerDone := make(chan error, 1)
	go func() {
		var lastErr error
		for {
			select {
			case <-stop:
				pollerDone <- lastErr
				return
			default:
			}
			res, err := relay.search(common, "newest", 100)
			now := time.Now()
			if err != nil {
				lastErr = err
			} else {
				mu.Lock()
				for _, v := range res.Tracks {
					if _, ok := seenAt[v.URI]; !ok {
						seenAt[v.URI] = now
					}
				}
				mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var batch []created
	for i := range n {
		c := createTrack(t, ctx, acct, common, fmt.Sprintf("take %d", i))
		mu.Lock()
		createdAt[c.uri] = c.at
		mu.Unlock()
		batch = append(batch, c)
	}
	eventually(t, visibleWithin+10*time.Second, "all 100 searchable", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(seenAt) >= n, fmt.Sprintf("%d of %d seen", len(seenAt), n)
	})
	close(stop)
	if err := <-pollerDone; err != nil {
		t.Logf("poller saw an error (the poll after it succeeded): %v", err)
	}

	var lat []time.Duration
	for _, c := range batch {
		seen, ok := seenAt[c.uri]
		if !ok {
			t.Errorf("%s never seen", c.uri)
			continue
		}
		d := max(seen.Sub(createdAt[c.uri]), 0)
		if d > 30*time.Second {
			t.Errorf("%s took %s to become searchable (sanity bound 30s)", c.uri, d)
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	t.Logf("create→searchable over %d tracks: p50 %s  p99 %s  max %s  (min %s)",
		len(lat), percentile(lat, 50).Round(time.Millisecond), percentile(lat, 99).Round(time.Millisecond),
		lat[len(lat)-1].Round(time.Millisecond), lat[0].Round(time.Millisecond))

	// Every one is found by its own word, and only it; all are in the feed.
	for _, c := range batch {
		res, err := relay.search(c.word, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tracks) != 1 || res.Tracks[0].URI != c.uri || res.Tracks[0].CID != c.cid || res.HitsTotal != 1 {
			t.Errorf("search %q: %d hits %+v, want exactly %s", c.word, res.HitsTotal, res.Tracks, c.uri)
		}
	}
	mine, err := relay.feedOf(acct.DID)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != n+1 {
		t.Errorf("feed holds %d of the account's tracks, want %d", len(mine), n+1)
	}
	// Newest first: the last written is on top.
	if len(mine) > 0 && mine[0].URI != batch[n-1].uri {
		t.Errorf("feed top is %s (%q), want the last written %s", mine[0].URI, mine[0].Title, batch[n-1].uri)
	}
	relay.stop()
}

// TestUpdateAndDelete: putRecord on the same rkey replaces the title in
// search and feed (the old title finds nothing), deleteRecord removes it.
func TestUpdateAndDelete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	relay := startRelay(t)
	acct := newAccount(t, ctx, "update")

	tr := createTrack(t, ctx, acct, "original")
	waitVisible(t, relay, tr.uri, tr.word, tr.title, visibleWithin)

	newWord := word()
	newTitle := newWord + " remastered"
	uri, cid, err := tn.PutRecord(ctx, acct, trackNSID, tr.rkey, track(newTitle), nil)
	if err != nil {
		t.Fatal(err)
	}
	if uri != tr.uri || cid == tr.cid {
		t.Fatalf("putRecord gave %s %s; created %s %s", uri, cid, tr.uri, tr.cid)
	}
	view := waitVisible(t, relay, tr.uri, newWord, newTitle, visibleWithin)
	if view.CID != cid {
		t.Errorf("feed cid after update = %s, want %s", view.CID, cid)
	}
	// The old title's word no longer finds it (the search index was updated,
	// not just the store).
	eventually(t, visibleWithin, "old title unsearchable", func() (bool, string) {
		res, err := relay.search(tr.word, "", 100)
		if err != nil {
			return false, err.Error()
		}
		if res.HitsTotal != 0 || len(res.Tracks) != 0 {
			return false, fmt.Sprintf("%d hits: %+v", res.HitsTotal, res.Tracks)
		}
		return true, ""
	})
	if mine, err := relay.feedOf(acct.DID); err != nil || len(mine) != 1 {
		t.Errorf("feed after update holds %d of the account's tracks (%v), want 1", len(mine), err)
	}

	if err := tn.DeleteRecord(ctx, acct, trackNSID, tr.rkey); err != nil {
		t.Fatal(err)
	}
	waitGone(t, relay, tr.uri, []string{newWord, tr.word, "remastered"}, visibleWithin)
	eventually(t, visibleWithin, "no hits left for the deleted track", func() (bool, string) {
		res, err := relay.search(newWord, "newest", 100)
		if err != nil {
			return false, err.Error()
		}
		return res.HitsTotal == 0, fmt.Sprintf("hitsTotal %d", res.HitsTotal)
	})
	relay.stop()
}

// TestInvalidRecordRejected: records that break the lexicon, written with
// validate=false so the PDS takes them, are never indexed and are counted
// by reason on /metrics; a good record written right after each appears.
func TestInvalidRecordRejected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	relay := startRelay(t)
	acct := newAccount(t, ctx, "invalid")

	cases := []struct {
		name   string
		reason string
		break_ func(rec map[string]any)
	}{
		{"missing fileType", "invalid_record", func(r map[string]any) { delete(r, "fileType") }},
		{"title of 281 characters", "invalid_record", func(r map[string]any) {
			r["title"] = r["title"].(string) + " " + strings.Repeat("x", 280-len(r["title"].(string)))
		}},
		{"missing title", "invalid_record", func(r map[string]any) { delete(r, "title") }},
		{"empty artist", "invalid_record", func(r map[string]any) { r["artist"] = "" }},
		{"duration is a string", "invalid_record", func(r map[string]any) { r["duration"] = "240" }},
		{"http audioUrl", "insecure_audio_url", func(r map[string]any) { r["audioUrl"] = "http://audio.example/a.mp3" }},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			before, err := relay.Sample("relay_ingest_rejected_total", "reason", tc.reason)
			if err != nil {
				t.Fatal(err)
			}
			badWord := word()
			rec := track(badWord + " broken")
			tc.break_(rec)
			if title, ok := rec["title"].(string); ok && tc.name == "title of 281 characters" && len([]rune(title)) != 281 {
				t.Fatalf("test bug: title has %d characters", len([]rune(title)))
			}
			badURI, _, err := tn.CreateRecord(ctx, acct, trackNSID, rec, &noValidate)
			if err != nil {
				t.Fatalf("PDS refused the record with validate=false: %v", err)
			}
			good := createTrack(t, ctx, acct, "after", tc.reason)
			// The good record comes after the bad one in the stream: once it
			// is visible, the bad one has been processed.
			waitVisible(t, relay, good.uri, good.word, good.title, visibleWithin)

			if v, err := relay.inFeed(badURI); err != nil || v != nil {
				t.Errorf("bad record %s in the feed: %+v (%v)", badURI, v, err)
			}
			if res, err := relay.search(badWord, "", 100); err != nil || res.HitsTotal != 0 || len(res.Tracks) != 0 {
				t.Errorf("bad record found by searching %q: %+v (%v)", badWord, res, err)
			}
			after, err := relay.Sample("relay_ingest_rejected_total", "reason", tc.reason)
			if err != nil {
				t.Fatal(err)
			}
			if after-before != 1 {
				t.Errorf(`relay_ingest_rejected_total{reason=%q} went from %v to %v, want +1`, tc.reason, before, after)
			}
		})
	}
	mine, err := relay.feedOf(acct.DID)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != len(cases) {
		t.Errorf("feed holds %d of the account's tracks, want the %d good ones", len(mine), len(cases))
	}
	relay.stop()
}

// TestFeedOrder: newest first is by min(createdAt, indexedAt), in the feed
// and in search sorted by newest: a track dated a year ahead does not stay
// on top, one dated in 2020 sorts below tracks dated now.
func TestFeedOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	relay := startRelay(t)
	acct := newAccount(t, ctx, "order")
	common := word()

	write := func(label string, createdAt time.Time) created {
		w := word()
		title := w + " " + common + " " + label
		rec := track(title)
		rec["createdAt"] = testnet.Datetime(createdAt)
		uri, cid, err := tn.CreateRecord(ctx, acct, trackNSID, rec, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := created{acct: acct, uri: uri, cid: cid, rkey: rkeyOf(t, uri), title: title, word: w, at: time.Now()}
		waitVisible(t, relay, c.uri, c.word, c.title, visibleWithin)
		return c
	}
	futureAt := time.Now().AddDate(1, 0, 0)
	future := write("future", futureAt)
	old := write("old", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	now := write("now", time.Now())
	want := []string{now.uri, future.uri, old.uri}

	feed, err := relay.feedOf(acct.DID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := relay.search(common, "newest", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []struct {
		from  string
		views []trackView
	}{{"feed", feed}, {"search newest", res.Tracks}} {
		var uris, desc []string
		for _, v := range got.views {
			uris = append(uris, v.URI)
			desc = append(desc, fmt.Sprintf("%s (createdAt %s, indexedAt %s)", v.Title, v.CreatedAt, v.IndexedAt))
		}
		if !slices.Equal(uris, want) {
			t.Errorf("%s order:\n  %s\nwant now, future, old", got.from, strings.Join(desc, "\n  "))
		}
	}
	// The views keep the record's own createdAt.
	for _, v := range feed {
		if v.URI == future.uri && v.CreatedAt != testnet.Datetime(futureAt) {
			t.Errorf("future track's createdAt shown as %s, want %s", v.CreatedAt, testnet.Datetime(futureAt))
		}
	}
	relay.stop()
}

// TestInvalidUpdate: an update that breaks the lexicon (written with
// validate=false) is rejected and counted like an invalid create; the
// version relay had before must not go on being served as the record at
// that uri, since the repo no longer holds it.
func TestInvalidUpdate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	relay := startRelay(t)
	acct := newAccount(t, ctx, "badupdate")

	tr := createTrack(t, ctx, acct, "clean")
	waitVisible(t, relay, tr.uri, tr.word, tr.title, visibleWithin)
	before, err := relay.Sample("relay_ingest_rejected_total", "reason", "insecure_audio_url")
	if err != nil {
		t.Fatal(err)
	}
	bad := track(tr.title)
	bad["audioUrl"] = "http://audio.example/now-insecure.mp3"
	_, badCID, err := tn.PutRecord(ctx, acct, trackNSID, tr.rkey, bad, &noValidate)
	if err != nil {
		t.Fatal(err)
	}
	// A good record after it: once visible, the update has been processed.
	good := createTrack(t, ctx, acct, "marker")
	waitVisible(t, relay, good.uri, good.word, good.title, visibleWithin)
	after, err := relay.Sample("relay_ingest_rejected_total", "reason", "insecure_audio_url")
	if err != nil {
		t.Fatal(err)
	}
	if after-before != 1 {
		t.Errorf("insecure_audio_url rejections went from %v to %v, want +1", before, after)
	}
	if v, err := relay.inFeed(tr.uri); err != nil {
		t.Fatal(err)
	} else if v != nil {
		t.Errorf("after an invalid update (repo cid %s), relay still serves the old version of %s: cid %s, audioUrl %s",
			badCID, tr.uri, v.CID, v.AudioURL)
	}
	if v, err := relay.inSearch(tr.word, tr.uri); err != nil {
		t.Fatal(err)
	} else if v != nil {
		t.Errorf("after an invalid update, search still finds the old version of %s (cid %s)", tr.uri, v.CID)
	}
	relay.stop()
}
