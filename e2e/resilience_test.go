package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaymusic/relay/internal/testnet"
)

// reconnectWithin allows for relay's reconnect backoff (indexer/jetstream.go:
// 1 s doubling to 1 min, with jitter between half and all of it) after an
// outage of Jetstream of a few seconds.
const reconnectWithin = 90 * time.Second

// TestNoneMissed: tracks written while Jetstream is down, and while relay
// serve is dead (SIGKILL), all arrive once each: none missed, none doubled,
// in SQLite (feed) and in Bleve (search).
func TestNoneMissed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	startCursor := nowCursor()
	relay := startRelayOn(t, dataDir, startCursor)
	accts := []*testnet.Account{newAccount(t, ctx, "outage"), newAccount(t, ctx, "outage")}
	dids := []string{accts[0].DID, accts[1].DID}
	common := word() // in every title of this test, to count hits in Bleve

	var written []created
	write := func(phase string, perAccount int) []created {
		var out []created
		for i := range perAccount {
			for _, a := range accts {
				out = append(out, createTrack(t, ctx, a, common, phase, fmt.Sprint(i)))
			}
		}
		written = append(written, out...)
		return out
	}
	waitAll := func(what string, cs []created, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for _, c := range cs {
			waitVisible(t, relay, c.uri, c.word, c.title, max(time.Until(deadline), time.Second))
		}
		t.Logf("%s: %d tracks visible", what, len(cs))
	}

	// Live first, so that relay is known to be connected and following.
	waitAll("live", write("live", 1), visibleWithin)
	if h, err := relay.Health(); err != nil || !h.Ingest.Connected || h.Ingest.Host == "" {
		t.Fatalf("health while live: %+v (%v)", h, err)
	}

	// 1. Jetstream down while tracks are written.
	stopped := time.Now()
	if err := tn.StopJetstream(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave the shared network as found.
		if !tn.JetstreamRunning() {
			if err := tn.StartJetstream(context.Background()); err != nil {
				t.Errorf("restarting jetstream in cleanup: %v", err)
			}
		}
	})
	eventually(t, 30*time.Second, "relay disconnected", func() (bool, string) {
		h, err := relay.Health()
		if err != nil {
			return false, err.Error()
		}
		return !h.Ingest.Connected, fmt.Sprintf("%+v", h.Ingest)
	})
	down := write("jsdown", 5)
	// Keep Jetstream down until relay has failed to reconnect a few times,
	// so that its backoff has grown (1 s, 2 s, 4 s, ... with jitter).
	jsHost := strings.TrimPrefix(strings.TrimSuffix(tn.JetstreamURL, "/subscribe"), "ws://")
	eventually(t, 30*time.Second, "3 failed reconnects", func() (bool, string) {
		n, err := relay.Sample("relay_ingest_reconnects_total", "host", jsHost)
		if err != nil {
			return false, err.Error()
		}
		return n >= 4, fmt.Sprintf("relay_ingest_reconnects_total %v", n) // the drop itself, then 3 failures
	})
	// Nothing can arrive while Jetstream is down.
	for _, c := range down[:1] {
		if v, err := relay.inFeed(c.uri); err != nil || v != nil {
			t.Fatalf("%s visible while jetstream is down: %+v (%v)", c.uri, v, err)
		}
	}
	if err := tn.StartJetstream(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	eventually(t, reconnectWithin, "relay reconnected", func() (bool, string) {
		h, err := relay.Health()
		if err != nil {
			return false, err.Error()
		}
		return h.Ingest.Connected, fmt.Sprintf("%+v", h.Ingest)
	})
	reconnects, _ := relay.Sample("relay_ingest_reconnects_total", "host", jsHost)
	t.Logf("relay reconnected %s after jetstream restarted (jetstream down %s; relay_ingest_reconnects_total %v)",
		time.Since(restarted).Round(time.Millisecond), restarted.Sub(stopped).Round(time.Millisecond), reconnects)
	waitAll("written while jetstream was down", down, reconnectWithin)
	checkOnce(t, relay, dids, common, written)

	// 2. relay serve SIGKILLed while tracks are written; restarted on the
	// same data dir it resumes from its stored cursor.
	hBefore, err := relay.Health()
	if err != nil {
		t.Fatal(err)
	}
	relay.crash()
	dead := write("relaydead", 5)
	relay = startRelayOn(t, dataDir, startCursor)
	if h, err := relay.Health(); err != nil || h.Ingest.Cursor < hBefore.Ingest.Cursor {
		t.Errorf("cursor after restart = %d (%v), before the crash %d", h.Ingest.Cursor, err, hBefore.Ingest.Cursor)
	}
	waitAll("written while relay was dead", dead, visibleWithin)
	if h, err := relay.Health(); err != nil || len(h.Warnings) != 0 || !h.Ingest.Connected {
		t.Errorf("health after restart: %+v (%v)", h, err)
	}
	// The restart resumed a few seconds before its stored cursor: events
	// already applied came again and were dropped by their rev.
	stale, _ := relay.Sample("relay_ingest_stale_total")
	applied, _ := relay.Sample("relay_ingest_applied_total")
	t.Logf("after restart: relay_ingest_applied_total %v, relay_ingest_stale_total %v", applied, stale)
	// And live again after the restart.
	waitAll("live after restart", write("afterrestart", 1), visibleWithin)
	// Let the search index settle before counting.
	eventually(t, visibleWithin, "index caught up", func() (bool, string) {
		h, err := relay.Health()
		if err != nil {
			return false, err.Error()
		}
		return h.Index.AppliedSeq == h.Index.OutboxSeq, fmt.Sprintf("%+v", h.Index)
	})
	checkOnce(t, relay, dids, common, written)
	t.Logf("%d tracks written across the outages, each found exactly once", len(written))
	relay.stop()
}

// checkOnce checks that the accounts' tracks in the feed are exactly
// written, each once, and that the search index holds each once too.
func checkOnce(t *testing.T, relay *relayProc, dids []string, common string, written []created) {
	t.Helper()
	feed, err := relay.feedOf(dids...)
	if err != nil {
		t.Fatal(err)
	}
	byURI := map[string]int{}
	byTitle := map[string]int{}
	for _, v := range feed {
		byURI[v.URI]++
		byTitle[v.Title]++
	}
	if len(feed) != len(written) {
		t.Errorf("feed holds %d of the accounts' tracks, want %d written", len(feed), len(written))
	}
	for _, c := range written {
		if byURI[c.uri] != 1 || byTitle[c.title] != 1 {
			t.Errorf("%s %q is %d times in the feed (title %d times), want once", c.uri, c.title, byURI[c.uri], byTitle[c.title])
		}
	}
	for uri, n := range byURI {
		if n != 1 {
			t.Errorf("%s is %d times in the feed", uri, n)
		}
	}
	// Bleve: the common word hits every track once.
	res, err := relay.search(common, "newest", 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, v := range res.Tracks {
		seen[v.URI]++
	}
	if res.HitsTotal != uint64(len(written)) || len(res.Tracks) != len(written) || len(seen) != len(written) {
		var titles []string
		for _, v := range res.Tracks {
			titles = append(titles, v.Title)
		}
		t.Errorf("search %q: hitsTotal %d, %d tracks (%d distinct), want %d:\n%s",
			common, res.HitsTotal, len(res.Tracks), len(seen), len(written), strings.Join(titles, "\n"))
	}
}
