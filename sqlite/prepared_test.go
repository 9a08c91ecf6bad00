package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// TestPreparedBound: key-list queries keep a prepared statement per key
// count only up to maxPreparedKeys; longer lists (the search follower's
// batches) run one-off, so the statements a store keeps stay a page's
// worth however its callers vary their lists.
func TestPreparedBound(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	held := func() int {
		n := 0
		s.stmts.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	dids := func(n int) []syntax.DID {
		out := make([]syntax.DID, n)
		for i := range out {
			out[i] = syntax.DID(fmt.Sprintf("did:plc:prepared%010d", i))
		}
		return out
	}
	uris := func(n int) []syntax.ATURI {
		out := make([]syntax.ATURI, n)
		for i := range out {
			out[i] = syntax.ATURI(fmt.Sprintf("at://did:plc:prepared%010d/app.relay.track/3l%011d", i, i))
		}
		return out
	}
	before := held()
	tests := []struct {
		name string
		run  func() error
		add  int
	}{
		{"artists of a page", func() error { _, err := s.Artists(ctx, dids(30)); return err }, 1},
		{"the same count again", func() error { _, err := s.Artists(ctx, dids(30)); return err }, 0},
		{"artists at the bound", func() error { _, err := s.Artists(ctx, dids(maxPreparedKeys)); return err }, 1},
		{"artists over the bound", func() error { _, err := s.Artists(ctx, dids(maxPreparedKeys+1)); return err }, 0},
		{"a follower's batch", func() error { _, err := s.Artists(ctx, dids(500)); return err }, 0},
		{"tracks of a page", func() error { _, err := s.Tracks(ctx, uris(25)); return err }, 1},
		{"tracks over the bound", func() error { _, err := s.Tracks(ctx, uris(200)); return err }, 0},
	}
	for _, tt := range tests {
		was := held()
		if err := tt.run(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := held() - was; got != tt.add {
			t.Errorf("%s: %d statements kept, want %d", tt.name, got, tt.add)
		}
	}
	if held()-before != 3 {
		t.Errorf("%d statements kept in all, want 3", held()-before)
	}
}
