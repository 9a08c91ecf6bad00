package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/validate"
)

// userAgent names us to the servers we crawl.
const userAgent = "relay-backfill (+https://github.com/relaymusic/relay)"

// maxListBytes caps one listing page (a thousand repos is ~150 KB).
const maxListBytes = 16 << 20

// newClient is a client for a host the operator named (--atproto-relay, --pds):
// trusted as given, still bounded in time and size.
func newClient(host string) *atclient.APIClient {
	host = strings.TrimRight(host, "/")
	c := atclient.NewAPIClient(host)
	hc, err := outbound.New(outbound.Options{Trusted: []string{host}, Timeout: 5 * time.Minute, MaxBody: maxListBytes})
	if err != nil {
		// Not an http(s) URL: the untrusted rules apply, and say so on use.
		hc, _ = outbound.New(outbound.Options{Timeout: 5 * time.Minute, MaxBody: maxListBytes})
	}
	c.Client = hc
	c.Headers.Set("User-Agent", userAgent)
	return c
}

// snapshot is one repo's tracks at one rev.
type snapshot struct {
	rev string
	// collections are those the walk read (validate.Collections): the
	// snapshot says what the repo holds of them, and nothing of others.
	collections []syntax.NSID
	tracks      []*relay.Track
	rejected    int
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
	u, err := pdsOrigin(ep)
	if err != nil {
		return nil, "", fmt.Errorf("%s declares a bad PDS endpoint: %w", did, err)
	}
	return ident, u.Host, nil
}

// maxEndpointLen bounds a declared PDS endpoint (a host name is at most 253).
const maxEndpointLen = 512

// pdsOrigin keeps only the scheme and host of a declared PDS endpoint: its
// path, query, fragment and user info are the DID document author's, and
// must not steer our requests (an endpoint of .../admin?x= would otherwise
// turn getRepo into GET /admin?x=...). The scheme and address rules are the
// outbound client's, applied when it dials.
func pdsOrigin(ep string) (*url.URL, error) {
	if len(ep) > maxEndpointLen {
		return nil, fmt.Errorf("endpoint over %d bytes", maxEndpointLen)
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || !printableASCII(u.Host) {
		return nil, fmt.Errorf("not an http(s) url: %q", outbound.Sanitize(ep, outbound.ReasonMax))
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// printableASCII holds for a host fit to appear in our errors and logs
// (url.Parse lets non-ASCII through, bidi controls included; a real host is
// punycode).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// fetchRepo downloads the repo, checks its commit was signed by the DID's
// current key, and reads out its tracks.
func fetchRepo(ctx context.Context, client *http.Client, ident *identity.Identity, lim repoLimits, m *Metrics) (*snapshot, error) {
	did := ident.DID
	body, err := getRepo(ctx, client, ident.PDSEndpoint(), did)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	// Not repo.LoadRepoFromCAR: see car.go.
	r, err := loadCAR(ctx, body, lim)
	if err != nil {
		return nil, fmt.Errorf("loading repo CAR of %s: %w", did, err)
	}
	commit := r.commit
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

	snap := &snapshot{rev: rev.String(), collections: validate.Collections()}
	// The whole tree is walked first, so a repo the walk refuses logs and
	// counts no rejected records. An MST key is "collection/rkey"; records
	// of every collection relay indexes are read.
	type entry struct {
		collection syntax.NSID
		rkey       string
		val        cid.Cid
	}
	var entries []entry
	err = r.walk(ctx, func(k string, val cid.Cid) error {
		coll, rkey, ok := strings.Cut(k, "/")
		if ok && validate.Known(syntax.NSID(coll)) {
			entries = append(entries, entry{syntax.NSID(coll), rkey, val})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", did, err)
	}
	for _, e := range entries {
		t, err := readTrack(r, did, e.collection, e.rkey, e.val, snap.rev)
		if err != nil {
			var rej *validate.RejectError
			if errors.As(err, &rej) {
				snap.rejected++
				m.rejected.WithLabelValues(rej.Reason).Inc()
				slog.WarnContext(ctx, "backfill: record rejected", "uri", rej.Subject, "reason", rej.Reason, "err", rej.Err)
				continue
			}
			return nil, fmt.Errorf("reading tracks of %s: %w", did, err)
		}
		snap.tracks = append(snap.tracks, t)
	}
	return snap, nil
}

// getRepo streams com.atproto.sync.getRepo from the PDS (indigo's generated
// client reads the whole body unbounded). client bounds the body and the
// time, and refuses what the network may not make us fetch; a nil client is
// that rule with the default repo cap. An error names the status and a short
// sanitized reason, never the remote body.
func getRepo(ctx context.Context, client *http.Client, pds string, did syntax.DID) (io.ReadCloser, error) {
	u, err := pdsOrigin(pds)
	if err != nil {
		return nil, fmt.Errorf("getRepo %s: bad PDS endpoint: %w", did, err)
	}
	u.Path = "/xrpc/com.atproto.sync.getRepo"
	u.RawQuery = url.Values{"did": {did.String()}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("getRepo %s: %w", did, err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/vnd.ipld.car")
	if client == nil {
		client = repoClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, outbound.ErrForbiddenAddress) || errors.Is(err, outbound.ErrNotHTTPS) {
			return nil, fmt.Errorf("getRepo %s: pds endpoint refused (not public https): %w", did, err)
		}
		return nil, fmt.Errorf("getRepo %s: %w", did, err)
	}
	if resp.StatusCode != http.StatusOK {
		reason := outbound.Reason(resp)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			return nil, fmt.Errorf("getRepo %s: %w", did, errRateLimited)
		}
		return nil, fmt.Errorf("getRepo %s: %s", did, reason)
	}
	return resp.Body, nil
}

// repoClient is getRepo's client when the config names none: the network's
// rules; the body is left to the loader's cap (Config.MaxRepoBytes), which
// gives the clearer error.
var repoClient = mustClient(outbound.Options{Timeout: 10 * time.Minute, MaxBody: math.MaxInt64, UserAgent: userAgent})

func mustClient(o outbound.Options) *http.Client {
	c, err := outbound.New(o)
	if err != nil {
		panic(err) // only a bad Trusted entry fails, and o has none
	}
	return c
}

// readTrack decodes one record block and validates it exactly as a live
// event's record is.
func readTrack(r *carRepo, did syntax.DID, collection syntax.NSID, rkey string, c cid.Cid, rev string) (*relay.Track, error) {
	uri := "at://" + did.String() + "/" + collection.String() + "/" + rkey
	rk, err := syntax.ParseRecordKey(rkey)
	if err != nil {
		return nil, &validate.RejectError{Reason: validate.ReasonBadRKey, Subject: uri, Err: err}
	}
	blk, ok := r.record(c)
	if !ok {
		return nil, fmt.Errorf("record block of %s (%s) not in the CAR", uri, c)
	}
	// Refused before decoding, as the live path refuses a record over the
	// cap before parsing it: CBOR is never larger than the record's JSON,
	// so nothing this refuses would pass validate, and the decoder (which
	// recurses without a depth bound) never sees more than the cap.
	if len(blk) > validate.MaxRecordBytes {
		return nil, &validate.RejectError{Reason: validate.ReasonTooLarge, Subject: uri,
			Err: fmt.Errorf("record block is %d bytes, over %d", len(blk), validate.MaxRecordBytes)}
	}
	rec, err := atdata.UnmarshalCBOR(blk)
	if err != nil {
		return nil, &validate.RejectError{Reason: validate.ReasonInvalidRecord, Subject: uri, Err: err}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, &validate.RejectError{Reason: validate.ReasonInvalidRecord, Subject: uri, Err: err}
	}
	// Record checks the rkey against the collection's lexicon (a tid for
	// app.relay.track).
	return validate.Record(did, collection, rk, rev, c.String(), raw)
}
