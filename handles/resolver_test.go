package handles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/sqlite"
)

const (
	alice = syntax.DID("did:plc:alice5rxbvqptxhmrrkjtu6m")
	bob   = syntax.DID("did:plc:bob27wa2tvrrlvrd3nrheyuz")
	carol = syntax.DID("did:plc:carol4rxbvqptxhmrrkjtu6m")
	dave  = syntax.DID("did:plc:dave44rxbvqptxhmrrkjtu6m")
)

// network is a loopback PLC directory (plain http, as an operator may
// configure) and an https host answering /.well-known/atproto-did for every
// handle under example.com (the test certificate's names).
type network struct {
	mu        sync.Mutex            // guards docs, wellKnown and slow
	docs      map[syntax.DID]string // did -> declared handle
	wellKnown map[string]syntax.DID // handle -> did it resolves to
	slow      map[syntax.DID]bool   // PLC answers after the lookup timeout

	inFlight, maxInFlight, plcRequests atomic.Int64
	plc, web                           *httptest.Server
}

func startNetwork(t *testing.T) *network {
	n := &network{
		docs: map[syntax.DID]string{
			alice: "alice.example.com", // verifies both ways
			bob:   "bob.example.com",   // resolves to someone else
			dave:  "dave.example.com",  // PLC too slow
		},
		wellKnown: map[string]syntax.DID{"alice.example.com": alice, "bob.example.com": carol, "dave.example.com": dave},
		slow:      map[syntax.DID]bool{dave: true},
	}
	n.plc = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.plcRequests.Add(1)
		cur := n.inFlight.Add(1)
		defer n.inFlight.Add(-1)
		n.mu.Lock()
		if cur > n.maxInFlight.Load() {
			n.maxInFlight.Store(cur)
		}
		h, ok := n.docs[did(r)]
		slow := n.slow[did(r)]
		n.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // lets lookups overlap
		if slow {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"id":          did(r),
			"alsoKnownAs": []string{"at://" + h},
			"service":     []map[string]string{{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://pds.example.com"}},
		})
	}))
	t.Cleanup(n.plc.Close)
	n.web = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		did, ok := n.wellKnown[r.Host]
		n.mu.Unlock()
		if r.URL.Path != "/.well-known/atproto-did" || !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, did)
	}))
	t.Cleanup(n.web.Close)
	return n
}

func did(r *http.Request) syntax.DID { return syntax.DID(strings.TrimPrefix(r.URL.Path, "/")) }

// setDoc makes did's document declare handle, which resolves back to
// resolvesTo.
func (n *network) setDoc(did syntax.DID, handle string, resolvesTo syntax.DID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.docs[did] = handle
	n.wellKnown[handle] = resolvesTo
}

// directory is indigo's, in its cache as cmd wires it, reaching only the
// two loopback servers: https to any example.com name goes to the web
// server, and DNS is never asked.
func (n *network) directory() identity.Directory {
	pool := x509.NewCertPool()
	pool.AddCert(n.web.Certificate())
	webAddr := n.web.Listener.Addr().String()
	var d net.Dialer
	base := &identity.BaseDirectory{
		PLCURL: n.plc.URL,
		HTTPClient: http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if strings.HasSuffix(addr, ".example.com:443") {
					addr = webAddr
				}
				return d.DialContext(ctx, network, addr)
			},
		}},
		SkipDNSDomainSuffixes: []string{".example.com"},
	}
	return identity.NewCacheDirectory(base, 1000, time.Hour, time.Minute, time.Minute)
}

func openStore(t *testing.T, dids ...syntax.DID) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var evs []relay.Event
	for i, did := range dids {
		rkey := syntax.RecordKey(syntax.NewTID(int64(1e15)+int64(i), 0).String())
		evs = append(evs, relay.Event{Kind: relay.TrackPut, DID: did, Track: &relay.Track{
			DID: did, Collection: relay.TrackCollection, RKey: rkey, Rev: syntax.NewTID(int64(1e15)+int64(i), 1).String(),
			Title: "t", Artist: "a", FileType: "mp3", AudioURL: "https://audio.example/a.mp3", Record: []byte(`{}`),
		}})
	}
	if _, err := s.ApplyBatch(ctx, evs, 0); err != nil {
		t.Fatal(err)
	}
	return s
}

func handles(t *testing.T, s *sqlite.Store) map[syntax.DID]string {
	t.Helper()
	out := map[syntax.DID]string{}
	rows, err := s.Feed(context.Background(), nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		out[r.DID] = r.Handle
	}
	return out
}

// TestResolver: a handle that verifies both ways is stored; one that does
// not, a DID the directory does not know and a lookup that times out are
// each retried later, after the backoff.
func TestResolver(t *testing.T) {
	n := startNetwork(t)
	s := openStore(t, alice, bob, carol, dave)
	ctx := context.Background()
	m := NewMetrics(prometheus.NewRegistry())
	r := New(Config{Store: s, Directory: n.directory(), Concurrency: 2, Timeout: 300 * time.Millisecond, RetryBase: time.Hour, Metrics: m})
	start := time.Now()
	took, err := r.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took != 4 {
		t.Errorf("step took %d accounts, want 4", took)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("step took %s: the slow lookup was not cut at its timeout", el)
	}
	want := map[syntax.DID]string{alice: "alice.example.com", bob: "", carol: "", dave: ""}
	if got := handles(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("handles = %v, want %v", got, want)
	}
	resolved := testutil.ToFloat64(m.lookups.WithLabelValues(outcomeResolved))
	unverified := testutil.ToFloat64(m.lookups.WithLabelValues(outcomeUnverified))
	failed := testutil.ToFloat64(m.lookups.WithLabelValues(outcomeFailed))
	if resolved != 1 || resolved+unverified+failed != 4 {
		t.Errorf("lookups counted resolved %v, unverified %v, failed %v; want 1 resolved of 4", resolved, unverified, failed)
	}
	if m := n.maxInFlight.Load(); m > 2 {
		t.Errorf("%d lookups at once, want at most 2", m)
	}
	// The three failures wait out their backoff, then come back once more.
	if due, _ := s.UnresolvedActors(ctx, time.Now(), 10); len(due) != 0 {
		t.Errorf("due again at once: %+v", due)
	}
	due, _ := s.UnresolvedActors(ctx, time.Now().Add(61*time.Minute), 10)
	if len(due) != 3 {
		t.Fatalf("due after the backoff: %+v, want bob, carol, dave", due)
	}
	for _, a := range due {
		if a.Attempts != 1 {
			t.Errorf("%s attempts = %d, want 1", a.DID, a.Attempts)
		}
	}
	before := n.plcRequests.Load()
	if took, _ := r.Step(ctx); took != 0 {
		t.Errorf("second step took %d, want 0 (nothing due)", took)
	}
	if n.plcRequests.Load() != before {
		t.Errorf("a step with nothing due asked the directory")
	}
}

// TestResolverTrustDeclared: for local networks whose handles do not resolve,
// the declared handle is taken.
func TestResolverTrustDeclared(t *testing.T) {
	n := startNetwork(t)
	s := openStore(t, bob)
	r := New(Config{Store: s, Directory: n.directory(), TrustDeclared: true})
	if _, err := r.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := handles(t, s)[bob]; h != "bob.example.com" {
		t.Errorf("bob's handle = %q, want the declared bob.example.com", h)
	}
}

// TestResolverRunStops: Run returns promptly when its context ends, and
// resolves while it runs.
func TestResolverRunStops(t *testing.T) {
	n := startNetwork(t)
	s := openStore(t, alice)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		New(Config{Store: s, Directory: n.directory(), Idle: 10 * time.Millisecond}).Run(ctx)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for handles(t, s)[alice] != "alice.example.com" {
		if time.Now().After(deadline) {
			t.Fatal("alice's handle never resolved")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not stop")
	}
}

// TestResolverRecheck: an identity event without a handle for an account
// whose handle is known makes the resolver look it up again past the
// directory's cache (which would still answer the old document for an
// hour): a changed handle replaces the shown one, a failed lookup keeps it,
// an unverified one clears it.
func TestResolverRecheck(t *testing.T) {
	n := startNetwork(t)
	s := openStore(t, alice)
	ctx := context.Background()
	r := New(Config{Store: s, Directory: n.directory(), Timeout: 300 * time.Millisecond, RetryBase: time.Hour})
	step := func(want int) {
		t.Helper()
		if took, err := r.Step(ctx); err != nil || took != want {
			t.Fatalf("step took %d (%v), want %d", took, err, want)
		}
	}
	recheck := func() {
		t.Helper()
		if _, err := s.ApplyBatch(ctx, []relay.Event{{Kind: relay.IdentityUpdate, DID: alice}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	step(1)
	if h := handles(t, s)[alice]; h != "alice.example.com" {
		t.Fatalf("first handle = %q", h)
	}

	// The handle changes in the DID document; the event carries none.
	n.setDoc(alice, "alice2.example.com", alice)
	step(0) // nothing asks for a lookup yet
	recheck()
	before := n.plcRequests.Load()
	step(1)
	if n.plcRequests.Load() == before {
		t.Errorf("the recheck was answered from the directory's cache")
	}
	if h := handles(t, s)[alice]; h != "alice2.example.com" {
		t.Errorf("handle after the recheck = %q, want alice2.example.com", h)
	}

	// A lookup that fails keeps the handle shown.
	n.mu.Lock()
	n.slow[alice] = true
	n.mu.Unlock()
	recheck()
	step(1)
	if h := handles(t, s)[alice]; h != "alice2.example.com" {
		t.Errorf("handle after a failed recheck = %q, want it kept", h)
	}
	n.mu.Lock()
	n.slow[alice] = false
	n.mu.Unlock()

	// One that answers with a handle resolving elsewhere clears it.
	n.setDoc(alice, "bob.example.com", carol)
	recheck()
	step(1)
	if h := handles(t, s)[alice]; h != "" {
		t.Errorf("handle after an unverified recheck = %q, want none", h)
	}
	due, _ := s.UnresolvedActors(ctx, time.Now().Add(61*time.Minute), 10)
	if len(due) != 1 || due[0].Recheck != 0 {
		t.Errorf("due after the backoff: %+v, want alice as an unknown handle", due)
	}
}

func TestBackoff(t *testing.T) {
	r := New(Config{RetryBase: time.Minute, RetryMax: time.Hour})
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{
		{0, time.Minute}, {1, 2 * time.Minute}, {5, 32 * time.Minute}, {6, time.Hour}, {100, time.Hour},
	} {
		if got := r.Backoff(tc.attempts); got != tc.want {
			t.Errorf("Backoff(%d) = %s, want %s", tc.attempts, got, tc.want)
		}
	}
}
