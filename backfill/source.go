package backfill

import (
	"context"
	"fmt"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// DefaultATProtoRelay is the public ATProto relay that answers listReposByCollection.
const DefaultATProtoRelay = "https://relay1.us-east.bsky.network"

// Source lists repos to backfill, a page at a time.
type Source interface {
	// Name identifies the source in the saved listing state.
	Name() string
	// List returns one page of DIDs after cursor and the next cursor
	// ("" when done).
	List(ctx context.Context, cursor string) ([]syntax.DID, string, error)
}

const pageSize = 1000

// RelaySource lists the repos holding app.relay.track records, as a relay
// (or collection directory) knows them: com.atproto.sync.listReposByCollection.
type RelaySource struct {
	Client *atclient.APIClient
}

// NewRelaySource returns a source for the relay at host (https://...).
func NewRelaySource(host string) *RelaySource {
	return &RelaySource{Client: newClient(host)}
}

func (s *RelaySource) Name() string { return "relay:" + s.Client.Host }

func (s *RelaySource) List(ctx context.Context, cursor string) ([]syntax.DID, string, error) {
	out, err := comatproto.SyncListReposByCollection(ctx, s.Client, relay.TrackCollection, cursor, pageSize)
	if err != nil {
		return nil, "", fmt.Errorf("listReposByCollection on %s: %w", s.Client.Host, err)
	}
	dids := make([]syntax.DID, 0, len(out.Repos))
	for _, r := range out.Repos {
		if d, err := syntax.ParseDID(r.Did); err == nil {
			dids = append(dids, d)
		}
	}
	return dids, next(out.Cursor, cursor, len(out.Repos)), nil
}

// PDSSource lists every active repo of one PDS (com.atproto.sync.listRepos),
// for small or private deployments; repos without tracks cost one getRepo.
type PDSSource struct {
	Client *atclient.APIClient
}

// NewPDSSource returns a source for the PDS at host.
func NewPDSSource(host string) *PDSSource {
	return &PDSSource{Client: newClient(host)}
}

func (s *PDSSource) Name() string { return "pds:" + s.Client.Host }

func (s *PDSSource) List(ctx context.Context, cursor string) ([]syntax.DID, string, error) {
	out, err := comatproto.SyncListRepos(ctx, s.Client, cursor, pageSize)
	if err != nil {
		return nil, "", fmt.Errorf("listRepos on %s: %w", s.Client.Host, err)
	}
	dids := make([]syntax.DID, 0, len(out.Repos))
	for _, r := range out.Repos {
		if r.Active != nil && !*r.Active {
			continue // its tracks would be hidden anyway; the live stream says when it returns
		}
		if d, err := syntax.ParseDID(r.Did); err == nil {
			dids = append(dids, d)
		}
	}
	return dids, next(out.Cursor, cursor, len(out.Repos)), nil
}

// next guards against a server that repeats its cursor or pages forever.
func next(got *string, prev string, n int) string {
	if got == nil || *got == "" || *got == prev || n == 0 {
		return ""
	}
	return *got
}
