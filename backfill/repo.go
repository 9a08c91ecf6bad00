package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/indexer"
)

// userAgent names us to the servers we crawl.
const userAgent = "relay-backfill (+https://github.com/relaymusic/relay)"

func newClient(host string) *atclient.APIClient {
	c := atclient.NewAPIClient(strings.TrimRight(host, "/"))
	c.Client = &http.Client{Timeout: 5 * time.Minute}
	c.Headers.Set("User-Agent", userAgent)
	return c
}

// snapshot is one repo's tracks at one rev.
type snapshot struct {
	rev      string
	tracks   []*relay.Track
	rejected int
}

// errRateLimited marks a 429 from a host.
var errRateLimited = errors.New("rate limited")

// pdsHost resolves a DID to its PDS endpoint and that endpoint's host name.
func pdsHost(ctx context.Context, dir identity.Directory, did syntax.DID) (*identity.Identity, string, error) {
	ident, err := dir.LookupDID(ctx, did)
	if err != nil {
		return nil, "", fmt.Errorf("resolving %s: %w", did, err)
	}
	ep := ident.PDSEndpoint()
	if ep == "" {
		return nil, "", fmt.Errorf("%s declares no PDS", did)
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("%s declares a bad PDS endpoint %q", did, ep)
	}
	return ident, u.Host, nil
}

// fetchRepo downloads the repo, checks its commit was signed by the DID's
// current key, and reads out its tracks.
func fetchRepo(ctx context.Context, ident *identity.Identity) (*snapshot, error) {
	did := ident.DID
	body, err := getRepo(ctx, ident.PDSEndpoint(), did)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	commit, r, err := repo.LoadRepoFromCAR(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("loading repo CAR of %s: %w", did, err)
	}
	if commit.DID != did.String() {
		return nil, fmt.Errorf("repo of %s holds a commit for %s", did, commit.DID)
	}
	key, err := ident.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing key of %s: %w", did, err)
	}
	if err := commit.VerifySignature(key); err != nil {
		return nil, fmt.Errorf("commit signature of %s: %w", did, err)
	}
	rev, err := syntax.ParseTID(commit.Rev)
	if err != nil {
		return nil, fmt.Errorf("repo of %s has a bad rev: %w", did, err)
	}

	snap := &snapshot{rev: rev.String()}
	prefix := relay.TrackCollection + "/"
	err = r.MST.Walk(func(key []byte, val cid.Cid) error {
		k := string(key)
		if !strings.HasPrefix(k, prefix) {
			return nil
		}
		t, err := readTrack(ctx, r, did, strings.TrimPrefix(k, prefix), val, snap.rev)
		if err != nil {
			var rej *indexer.RejectError
			if errors.As(err, &rej) {
				snap.rejected++
				rejectedTotal.WithLabelValues(rej.Reason).Inc()
				slog.WarnContext(ctx, "backfill: record rejected", "uri", rej.Subject, "reason", rej.Reason, "err", rej.Err)
				return nil
			}
			return err
		}
		snap.tracks = append(snap.tracks, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading tracks of %s: %w", did, err)
	}
	return snap, nil
}

// MaxRepoBytes caps one repo's CAR: a repo is read into memory whole, and a
// few run at once.
const MaxRepoBytes = 1 << 30

// getRepo streams com.atproto.sync.getRepo from the PDS, capped at
// MaxRepoBytes (indigo's generated client reads the whole body unbounded).
func getRepo(ctx context.Context, pds string, did syntax.DID) (io.ReadCloser, error) {
	u, err := url.Parse(strings.TrimRight(pds, "/") + "/xrpc/com.atproto.sync.getRepo")
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("getRepo %s: bad PDS endpoint %q", did, pds)
	}
	u.RawQuery = url.Values{"did": {did.String()}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("getRepo %s: %w", did, err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/vnd.ipld.car")
	resp, err := repoClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("getRepo %s: %w", did, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			return nil, fmt.Errorf("getRepo %s: %w", did, errRateLimited)
		}
		return nil, fmt.Errorf("getRepo %s: HTTP %d: %s", did, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return &capped{r: io.LimitReader(resp.Body, MaxRepoBytes+1), c: resp.Body, did: did}, nil
}

var repoClient = &http.Client{Timeout: 10 * time.Minute}

// capped fails a read past MaxRepoBytes rather than truncating silently.
type capped struct {
	r   io.Reader
	c   io.Closer
	n   int64
	did syntax.DID
}

func (c *capped) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > MaxRepoBytes {
		return n, fmt.Errorf("repo of %s is over %d bytes", c.did, int64(MaxRepoBytes))
	}
	return n, err
}

func (c *capped) Close() error { return c.c.Close() }

// readTrack decodes one record block and validates it exactly as a live
// event's record is.
func readTrack(ctx context.Context, r *repo.Repo, did syntax.DID, rkey string, c cid.Cid, rev string) (*relay.Track, error) {
	uri := "at://" + did.String() + "/" + relay.TrackCollection + "/" + rkey
	if _, err := syntax.ParseTID(rkey); err != nil {
		return nil, &indexer.RejectError{Reason: indexer.ReasonBadRKey, Subject: uri, Err: err}
	}
	blk, err := r.RecordStore.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("record block of %s: %w", uri, err)
	}
	rec, err := atdata.UnmarshalCBOR(blk.RawData())
	if err != nil {
		return nil, &indexer.RejectError{Reason: indexer.ReasonInvalidRecord, Subject: uri, Err: err}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, &indexer.RejectError{Reason: indexer.ReasonInvalidRecord, Subject: uri, Err: err}
	}
	return indexer.ParseTrack(did, syntax.RecordKey(rkey), rev, c.String(), raw)
}
