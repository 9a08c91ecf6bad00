package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// playHours is how far back the demo's plays go: a day, so trending's
// day window has them all.
const playHours = 24

// addPlays gives the catalogue plays over the past whole hours (trending
// sums whole past hours only), more for some tracks than others, so that
// trending has an order to show from the first look. Each track's total is kept
// in Track.Plays; the counts are fixed, so the order is the same at every
// start.
func (d *Demo) addPlays(ctx context.Context, add func(context.Context, []relay.PlayCount) error) error {
	now := time.Now().Unix() / relay.HourSeconds
	var counts []relay.PlayCount
	for i, t := range d.Tracks {
		u, err := syntax.ParseATURI(t.URI)
		if err != nil {
			return fmt.Errorf("demo: plays of %s: %w", t.URI, err)
		}
		did, err := u.Authority().AsDID()
		if err != nil {
			return fmt.Errorf("demo: plays of %s: %w", t.URI, err)
		}
		// A shuffled popularity, not the feed's order: trending should
		// look different from newest-first. 5 is prime to the 21 tracks,
		// so no two share a rank.
		rank := (i*5 + 3) % len(d.Tracks)
		d.Tracks[i].Plays = 0
		for h := int64(1); h <= playHours; h++ {
			n := int64(len(d.Tracks)-rank) * (1 + h%3)
			d.Tracks[i].Plays += n
			counts = append(counts, relay.PlayCount{
				DID: did, Collection: u.Collection(), RKey: u.RecordKey(), Hour: now - h, N: n,
			})
		}
	}
	if err := add(ctx, counts); err != nil {
		return fmt.Errorf("demo: add plays: %w", err)
	}
	return nil
}
