package appview

import (
	"errors"
	"net/url"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// FuzzParams: any query string gives either parameters within their bounds
// or an XRPC InvalidRequest (400), never a panic or another error; a feed
// cursor that parses encodes back to the same position.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"", "limit=50", "limit=0", "limit=101", "limit=-1", "limit=1e2", "limit=%00",
		"cursor=" + encodeFeedCursor(relay.FeedKey{SortAt: 1767225600000000, DID: "did:plc:alice5rxbvqptxhmrrkjtu6m", RKey: "3lb2fbq7tbc2s"}),
		"cursor=MTIz", "cursor=garbage", "cursor=LTEgeCBkaWQ6cGxjOng",
		"q=bjork&sort=newest&limit=10", "q=+++", "q=bj%C3%B6rk&sort=oldest", "q=a&q=b&limit=3&limit=4",
		"%zz", "q=\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // net/http answers such a query string before us
		}
		after, limit, err := parseFeedParams(q)
		checkParamErr(t, "feed", err)
		if err == nil {
			if limit < 1 || limit > 100 {
				t.Fatalf("feed limit %d", limit)
			}
			if after != nil {
				back, err := decodeFeedCursor(encodeFeedCursor(*after))
				if err != nil || back != *after {
					t.Fatalf("cursor %+v encodes to one that decodes to %+v, %v", *after, back, err)
				}
				if _, err := syntax.ParseDID(after.DID.String()); err != nil {
					t.Fatalf("cursor DID %q: %v", after.DID, err)
				}
			}
		}
		sq, err := parseSearchParams(q)
		checkParamErr(t, "search", err)
		if err == nil && (sq.Limit < 1 || sq.Limit > 100 || sq.Text == "") {
			t.Fatalf("search query %+v", sq)
		}
	})
}

func checkParamErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var xe *xrpcError
	if !errors.As(err, &xe) || xe.Status != 400 || xe.Name != "InvalidRequest" || xe.Message == "" {
		t.Fatalf("%s: error %v is not an InvalidRequest", what, err)
	}
}
