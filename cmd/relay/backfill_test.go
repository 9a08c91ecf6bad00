package main

import (
	"github.com/relaymusic/relay/internal/relaytest"

	"context"
	"fmt"
	"net/url"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/relaymusic/relay/internal/testnet"
)

type searchBody struct {
	Tracks []struct {
		URI    string `json:"uri"`
		Title  string `json:"title"`
		Handle string `json:"handle"`
	} `json:"tracks"`
	HitsTotal int `json:"hitsTotal"`
}

// waitSearchable polls searchTracks until q finds want tracks.
func waitSearchable(t *testing.T, p *relaytest.Proc, q string, want int) searchBody {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var body searchBody
		err := p.GetJSON("/xrpc/app.relay.feed.searchTracks?"+url.Values{"q": {q}, "limit": {"100"}}.Encode(), &body)
		if err == nil && len(body.Tracks) == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %q: %d tracks (err %v), want %d\n%s", q, len(body.Tracks), err, want, p.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runBackfill(t *testing.T, nw *testnet.Network, dataDir string) {
	t.Helper()
	cmd := exec.Command(relayBin, "--log-format", "json", "backfill", "--data-dir", dataDir,
		"--pds", nw.PDSURL, "--plc-url", nw.PLCURL, "--retry-base", "100ms", "--trust-declared-handles", "--allow-private-network")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("relay backfill: %v\n%s", err, out)
	}
}

// TestBackfillBesideServe: tracks published before the service started are
// found by `relay backfill` run as its own process beside a running `relay
// serve` on the same data dir, and reach search through the server's
// outbox follower. A backfill with no server running is caught up by the
// next start.
func TestBackfillBesideServe(t *testing.T) {
	nw := testnet.StartT(t)
	ctx := context.Background()
	const n = 5
	for i := range n {
		acct, err := nw.CreateAccount(ctx, "early")
		if err != nil {
			t.Fatal(err)
		}
		rec := map[string]any{
			"$type": "app.relay.track", "title": fmt.Sprintf("prelaunch anthem %d", i), "artist": "Early Bird",
			"audioUrl": "https://audio.relay.example/early.mp3", "fileType": "mp3",
			"createdAt": testnet.Datetime(time.Now().Add(-48 * time.Hour)),
		}
		if _, _, err := nw.CreateRecord(ctx, acct, "app.relay.track", rec, nil); err != nil {
			t.Fatal(err)
		}
	}

	// Serve starts at the live tip: the earlier tracks are not in the stream.
	dir := t.TempDir()
	p := startRelay(t, "--data-dir", dir, "--jetstream-url", nw.JetstreamURL, "--index-poll", "200ms")
	var empty searchBody
	if err := p.GetJSON("/xrpc/app.relay.feed.searchTracks?q=prelaunch", &empty); err != nil || len(empty.Tracks) != 0 {
		t.Fatalf("before backfill: %+v %v", empty, err)
	}
	runBackfill(t, nw, dir)
	found := waitSearchable(t, p, "prelaunch anthem", n)
	for _, tr := range found.Tracks {
		if tr.Handle == "" {
			t.Errorf("%s has no handle", tr.URI)
		}
	}
	p.Signal(syscall.SIGTERM, 30*time.Second)

	// No server running: the backfill writes SQLite only, and the next start
	// brings the index up to date.
	dir2 := t.TempDir()
	runBackfill(t, nw, dir2)
	p2 := startRelay(t, "--data-dir", dir2, "--jetstream-url", nw.JetstreamURL)
	waitSearchable(t, p2, "prelaunch anthem", n)
	p2.Signal(syscall.SIGTERM, 30*time.Second)

	// relay serve --backfill does the same work in the background, and
	// reports it in its metrics.
	p3 := startRelay(t, "--data-dir", t.TempDir(), "--jetstream-url", nw.JetstreamURL,
		"--backfill", "--pds", nw.PDSURL, "--plc-url", nw.PLCURL, "--trust-declared-handles", "--allow-private-network")
	waitSearchable(t, p3, "prelaunch anthem", n)
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, err := p3.Sample("relay_backfill_repos", "state", "done")
		records, err2 := p3.Sample("relay_backfill_records_total")
		if err == nil && err2 == nil && done >= n && records >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill metrics never showed the work: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p3.Signal(syscall.SIGTERM, 30*time.Second)
}
