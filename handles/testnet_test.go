package handles

import (
	"context"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/internal/testnet"
	"github.com/relaymusic/relay/outbound"
)

// TestResolverTestnet: against a real PLC directory and PDS on loopback,
// wired as cmd wires it with --trust-declared-handles (the network's .test
// handles are a reserved TLD and never verify), an account created on the
// PDS gets its handle.
func TestResolverTestnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PLC directory and a PDS")
	}
	nw := testnet.StartT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acct, err := nw.CreateAccount(ctx, "hres")
	if err != nil {
		t.Fatal(err)
	}
	did := syntax.DID(acct.DID)
	s := openStore(t, did)
	client, err := outbound.New(outbound.Options{Trusted: []string{nw.PLCURL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dir := identity.NewCacheDirectory(&identity.BaseDirectory{
		PLCURL: nw.PLCURL, HTTPClient: *client, SkipHandleVerification: true,
	}, 100, time.Hour, time.Minute, time.Minute)
	r := New(Config{Store: s, Directory: dir, TrustDeclared: true})
	if n, err := r.Step(ctx); err != nil || n != 1 {
		t.Fatalf("step: %d, %v", n, err)
	}
	if h := handles(t, s)[did]; h != acct.Handle {
		t.Errorf("handle = %q, want %q", h, acct.Handle)
	}
}
