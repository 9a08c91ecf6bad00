package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRelaySourcePages checks the listReposByCollection client against an
// in-process relay (no relay runs on the local network; the real PDS's
// listRepos is exercised by the tests above): it asks for app.relay.track,
// follows cursors to the end, and stops on a repeated cursor.
func TestRelaySourcePages(t *testing.T) {
	const total = 2500
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path != "/xrpc/com.atproto.sync.listReposByCollection" || r.URL.Query().Get("collection") != "app.relay.track" {
			http.Error(w, `{"error":"InvalidRequest"}`, 400)
			return
		}
		start := 0
		fmt.Sscan(r.URL.Query().Get("cursor"), &start)
		var repos []map[string]string
		for i := start; i < min(start+pageSize, total); i++ {
			repos = append(repos, map[string]string{"did": fmt.Sprintf("did:plc:relay%019d", i)})
		}
		out := map[string]any{"repos": repos}
		if start+pageSize < total {
			out["cursor"] = fmt.Sprint(start + pageSize)
		} else {
			out["cursor"] = r.URL.Query().Get("cursor") // a server that repeats its last cursor
		}
		json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()

	src := NewRelaySource(srv.URL)
	seen := map[string]bool{}
	cursor := ""
	for range 10 {
		dids, next, err := src.List(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dids {
			seen[d.String()] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != total || calls != 3 {
		t.Fatalf("listed %d repos in %d calls, want %d in 3", len(seen), calls, total)
	}
}
