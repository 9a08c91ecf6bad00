package backfill

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestHostKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pds.example", "pds.example"},
		{"pds.example:443", "pds.example"},
		{"PDS.Example.:8443", "pds.example"},
		{"[::1]:2583", "::1"},
		{"127.0.0.1:1", "127.0.0.1"},
	} {
		if got := hostKey(tc.in); got != tc.want {
			t.Errorf("hostKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestHostsPortsShareLimit: one host on another port is the same host; a
// second slot there waits like on the first port, another host does not.
func TestHostsPortsShareLimit(t *testing.T) {
	for _, tc := range []struct {
		second string
		shared bool
	}{
		{"pds.example:443", true},
		{"pds.example:8443", true},
		{"PDS.example", true},
		{"other.example:443", false},
	} {
		t.Run(tc.second, func(t *testing.T) {
			hs := newHosts(1, 1000)
			release, err := hs.acquire(context.Background(), "pds.example:443")
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			r2, err := hs.acquire(ctx, tc.second)
			if tc.shared != errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("second acquire on %s: %v, shared %v", tc.second, err, tc.shared)
			}
			if err == nil {
				r2()
			}
		})
	}
}

// TestHostsBounded: DID documents can name any number of hosts; the map of
// per-host limits drops idle hosts past sweepHosts instead of keeping one
// entry per host ever named, and keeps a host with a call in flight.
func TestHostsBounded(t *testing.T) {
	hs := newHosts(2, 1000)
	ctx := context.Background()
	busy, err := hs.acquire(ctx, "busy.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer busy()
	for i := range 3 * sweepHosts {
		release, err := hs.acquire(ctx, fmt.Sprintf("pds%d.example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	hs.mu.Lock()
	n := len(hs.m)
	_, kept := hs.m["busy.example.com"]
	hs.mu.Unlock()
	if n > sweepHosts+1 {
		t.Errorf("%d hosts held after %d distinct ones, want at most %d", n, 3*sweepHosts, sweepHosts+1)
	}
	if !kept {
		t.Error("the host with a call in flight was dropped")
	}
}
