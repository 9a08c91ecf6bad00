package jetstreamtest

import (
	"context"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/sqlite"
)

// CheckStore compares a store with the end state a stream should produce:
// exactly the expected visible tracks with their last titles, and the
// expected number hidden. It returns the first difference.
func (exp Expected) CheckStore(ctx context.Context, s *sqlite.Store) error {
	c, err := s.Count(ctx)
	if err != nil {
		return err
	}
	if c.Visible != int64(len(exp.Visible)) || c.Hidden != int64(exp.Hidden) {
		return fmt.Errorf("visible/hidden = %d/%d, want %d/%d", c.Visible, c.Hidden, len(exp.Visible), exp.Hidden)
	}
	uris := make([]syntax.ATURI, 0, len(exp.Visible))
	for u := range exp.Visible {
		uris = append(uris, syntax.ATURI(u))
	}
	rows, err := s.Tracks(ctx, uris)
	if err != nil {
		return err
	}
	if len(rows) != len(uris) {
		return fmt.Errorf("found %d of %d visible tracks", len(rows), len(uris))
	}
	for _, r := range rows {
		if want := exp.Visible[r.URI().String()]; r.Title != want {
			return fmt.Errorf("%s title = %q, want %q", r.URI(), r.Title, want)
		}
	}
	return nil
}
