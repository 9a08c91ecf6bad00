package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackfillRefusesPrivatePDS runs `relay backfill` for a DID whose
// document (from a PLC directory the operator named, so trusted) declares a
// PDS on loopback with a path and query of its own. Without
// --allow-private-network not a single request reaches it and the log says
// why; with the flag (or its env var) getRepo goes through, to the
// endpoint's scheme and host only.
func TestBackfillRefusesPrivatePDS(t *testing.T) {
	const did = "did:plc:abcdefghijklmnopqrstuvwx"
	var reqs, conns atomic.Int64
	var lastURL atomic.Value
	pds := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		lastURL.Store(r.URL.RequestURI())
		http.Error(w, "internal admin says no", http.StatusForbidden)
	}))
	pds.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	pds.Start()
	defer pds.Close()
	doc, _ := json.Marshal(map[string]any{
		"id": did,
		"service": []map[string]string{{
			"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
			"serviceEndpoint": pds.URL + "/internal/admin?x=",
		}},
	})
	plc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) }))
	defer plc.Close()

	for _, tc := range []struct {
		name    string
		args    []string
		env     string
		allowed bool
	}{
		{"refused", nil, "", false},
		{"allowed by flag", []string{"--allow-private-network"}, "", true},
		{"allowed by env", nil, "RELAY_ALLOW_PRIVATE_NETWORK=true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reqs.Store(0)
			conns.Store(0)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			args := append([]string{"--log-format", "json", "backfill", "--data-dir", t.TempDir(),
				"--did", did, "--plc-url", plc.URL, "--max-attempts", "1"}, tc.args...)
			cmd := exec.CommandContext(ctx, relayBin, args...)
			cmd.Env = os.Environ()
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("relay backfill: %v\n%s", err, out)
			}
			log := string(out)
			if !strings.Contains(log, "backfill: repo still failing") {
				t.Fatalf("the repo is not reported failed:\n%s", log)
			}
			if !tc.allowed {
				if n, c := reqs.Load(), conns.Load(); n != 0 || c != 0 {
					t.Fatalf("the loopback PDS got %d requests on %d connections", n, c)
				}
				if !strings.Contains(log, "only https is allowed") {
					t.Errorf("the log does not say why:\n%s", log)
				}
				return
			}
			if n := reqs.Load(); n != 1 {
				t.Fatalf("the PDS got %d requests, want 1\n%s", n, log)
			}
			if got, want := lastURL.Load(), "/xrpc/com.atproto.sync.getRepo?did=did%3Aplc%3Aabcdefghijklmnopqrstuvwx"; got != want {
				t.Errorf("requested %q, want %q", got, want)
			}
			if !strings.Contains(log, "HTTP 403: internal admin says no") {
				t.Errorf("the log lacks the sanitized reason:\n%s", log)
			}
		})
	}
}
