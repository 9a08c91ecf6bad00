package appview

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
)

// FuzzParams: any query string gives either parameters within their bounds
// or an XRPC InvalidRequest (400), never a panic or another error; a feed
// cursor that parses encodes back to the same position.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"", "limit=50", "limit=0", "limit=101", "limit=-1", "limit=1e2", "limit=%00",
		"cursor=" + encodeFeedCursor(relay.FeedKey{SortAt: 1767225600000000, DID: "did:plc:alice5rxbvqptxhmrrkjtu6m", Collection: relay.TrackCollection, RKey: "3lb2fbq7tbc2s"}),
		// The format before cursors carried the collection.
		"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("1767225600000000 3lb2fbq7tbc2s did:plc:alice5rxbvqptxhmrrkjtu6m")),
		"cursor=MTIz", "cursor=garbage", "cursor=LTEgeCBkaWQ6cGxjOng",
		"q=bjork&sort=newest&limit=10", "q=bjork&sort=latest", "q=bjork&sort=top", "q=bjork&sort=Top",
		"q=love&artist=did:plc:alice5rxbvqptxhmrrkjtu6m&genre=Synth+Pop&tag=dance", "q=love&artist=Alice.Example.com",
		"q=love&artist=not+a+handle", "q=love&tag=a&tag=b", "q=love&genre=%ff", "q=love&artist=did:web:" + strings.Repeat("a", 3000), "q=+++", "q=bj%C3%B6rk&sort=oldest", "q=a&q=b&limit=3&limit=4",
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
		sp, err := parseSearchParams(q)
		checkParamErr(t, "search", err)
		if err == nil {
			sq, f := sp.query, sp.query.Filter
			if sq.Limit < 1 || sq.Limit > 100 || sq.Text == "" {
				t.Fatalf("search query %+v", sq)
			}
			if sq.Sort != search.SortRelevance && sq.Sort != search.SortNewest {
				t.Fatalf("search sort %v", sq.Sort)
			}
			if f.Artist != "" {
				if _, err := syntax.ParseDID(f.Artist); err != nil || sp.handle != "" {
					t.Fatalf("artist filter %q (handle %q): %v", f.Artist, sp.handle, err)
				}
			}
			if sp.handle != "" && sp.handle.Normalize() != sp.handle {
				t.Fatalf("handle %q not normalised", sp.handle)
			}
			for _, v := range []string{f.Genre, f.Tag} {
				if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxFacetRunes {
					t.Fatalf("facet %q out of bounds", v)
				}
			}
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

// TestFeedCursorFormats: a cursor carries the collection and decodes to the
// key it was made from; one in the format before it did ("sortAt rkey
// did", handed out before the deploy) still decodes, as an app.relay.track;
// a bad collection is a bad cursor.
func TestFeedCursorFormats(t *testing.T) {
	const did, rkey = syntax.DID("did:plc:alice5rxbvqptxhmrrkjtu6m"), syntax.RecordKey("3lb2fbq7tbc2s")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name   string
		cursor string
		want   relay.FeedKey
		bad    bool
	}{
		{"ours", encodeFeedCursor(relay.FeedKey{SortAt: 5, DID: did, Collection: relay.TrackCollection, RKey: rkey}),
			relay.FeedKey{SortAt: 5, DID: did, Collection: relay.TrackCollection, RKey: rkey}, false},
		{"another collection", encodeFeedCursor(relay.FeedKey{SortAt: 5, DID: did, Collection: "fm.plyr.track", RKey: rkey}),
			relay.FeedKey{SortAt: 5, DID: did, Collection: "fm.plyr.track", RKey: rkey}, false},
		{"before collections", enc("5 " + rkey.String() + " " + did.String()),
			relay.FeedKey{SortAt: 5, DID: did, Collection: relay.TrackCollection, RKey: rkey}, false},
		{"bad collection", enc("5 " + rkey.String() + " " + did.String() + " not-an-nsid"), relay.FeedKey{}, true},
		{"empty collection", enc("5 " + rkey.String() + " " + did.String() + " "), relay.FeedKey{}, true},
		{"a fifth part", enc("5 " + rkey.String() + " " + did.String() + " app.relay.track x"), relay.FeedKey{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeFeedCursor(tc.cursor)
			if tc.bad {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("decoded %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
