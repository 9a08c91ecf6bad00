package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// TestResolveHandle: a handle the store learned from an identity event
// gives its account's DID, whatever its case; an unknown handle, and the
// handle an account moved away from, give none.
func TestResolveHandle(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const alice, bob = syntax.DID("did:plc:aliceresolve"), syntax.DID("did:plc:bobresolve")
	at := time.Date(2025, 10, 2, 18, 4, 11, 0, time.UTC)
	if _, err := s.ApplyBatch(ctx, []relay.Event{
		put(alice, "3lb2fbq7tbc2s", rev1, "a", at), identity(alice, "alice.example.com"),
		put(bob, "3lb2fbq7tbc2t", rev1, "b", at), identity(bob, "old.example.com"),
	}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyBatch(ctx, []relay.Event{identity(bob, "bob.example.com")}, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		handle string
		want   syntax.DID
	}{
		{"alice.example.com", alice},
		{"Alice.Example.COM", alice},
		{"bob.example.com", bob},
		{"old.example.com", ""},
		{"nobody.example.com", ""},
		{"handle.invalid", ""},
	} {
		got, ok, err := s.ResolveHandle(ctx, syntax.Handle(tc.handle))
		if err != nil {
			t.Fatalf("%s: %v", tc.handle, err)
		}
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.handle, got, ok, tc.want)
		}
	}
}
