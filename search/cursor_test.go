package search

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBadQueries(t *testing.T) {
	ix := catalogueIndex(t)
	ctx := context.Background()

	// Real cursors to misuse.
	first, err := ix.Search(ctx, Query{Text: "electronic", Limit: 1})
	if err != nil || first.Cursor == "" {
		t.Fatalf("relevance first page: %v %+v", err, first)
	}
	newest, err := ix.Search(ctx, Query{Text: "electronic", Limit: 1, Sort: SortNewest})
	if err != nil || newest.Cursor == "" {
		t.Fatalf("newest first page: %v %+v", err, newest)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	// Relevance cursors for "electronic", well formed but for one field.
	qh := queryHash("electronic")
	rel := func(field string) string {
		return b64(`{"k":"r","a":["1.5","at://x"],"o":1,"q":"` + qh + `",` + field + `}`)
	}
	relAfter := func(after string) string { return b64(`{"k":"r","a":[` + after + `],"o":1,"q":"` + qh + `"}`) }
	relOffset := func(o int) string {
		return b64(fmt.Sprintf(`{"k":"r","a":["1.5","at://x"],"o":%d,"q":"%s"}`, o, qh))
	}

	tests := []struct {
		name string
		q    Query
		want error
	}{
		{"limit 0", Query{Text: "bjork", Limit: 0}, ErrBadQuery},
		{"limit 101", Query{Text: "bjork", Limit: 101}, ErrBadQuery},
		{"negative limit", Query{Text: "bjork", Limit: -1}, ErrBadQuery},
		{"empty text", Query{Text: "", Limit: 10}, ErrBadQuery},
		{"only punctuation", Query{Text: " ,.!? - ", Limit: 10}, ErrBadQuery},
		{"text over 256 bytes", Query{Text: strings.Repeat("ö", 129), Limit: 10}, ErrBadQuery},
		{"unknown sort", Query{Text: "bjork", Limit: 10, Sort: 7}, ErrBadQuery},
		{"cursor not base64", Query{Text: "electronic", Limit: 1, Cursor: "!!!"}, ErrBadCursor},
		{"cursor not json", Query{Text: "electronic", Limit: 1, Cursor: b64("nope")}, ErrBadCursor},
		{"cursor unknown field", Query{Text: "electronic", Limit: 1, Cursor: b64(`{"k":"r","t":"00","x":1}`)}, ErrBadCursor},
		{"cursor too long", Query{Text: "electronic", Limit: 1, Cursor: strings.Repeat("A", maxCursorLen+1)}, ErrBadCursor},
		{"newest cursor for relevance", Query{Text: "electronic", Limit: 1, Cursor: newest.Cursor}, ErrBadCursor},
		{"relevance cursor for newest", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: first.Cursor}, ErrBadCursor},
		{"newest cursor bad time", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: b64(`{"k":"n","a":["soon","at://x"]}`)}, ErrBadCursor},
		{"newest cursor NaN", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: b64(`{"k":"n","a":["NaN","at://x"]}`)}, ErrBadCursor},
		{"newest cursor short", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: b64(`{"k":"n","a":["1"]}`)}, ErrBadCursor},
		{"old cursor format", Query{Text: "electronic", Limit: 1, Cursor: b64(`{"k":"r","t":"00112233445566778899aabbccddeeff","o":1}`)}, ErrBadCursor},
		{"malformed token", Query{Text: "electronic", Limit: 1, Cursor: rel(`"t":"zz"`)}, ErrBadCursor},
		{"score NaN", Query{Text: "electronic", Limit: 1, Cursor: relAfter(`"NaN","at://x"`)}, ErrBadCursor},
		{"score infinite", Query{Text: "electronic", Limit: 1, Cursor: relAfter(`"1e999","at://x"`)}, ErrBadCursor},
		{"score not a number", Query{Text: "electronic", Limit: 1, Cursor: relAfter(`"high","at://x"`)}, ErrBadCursor},
		{"empty id", Query{Text: "electronic", Limit: 1, Cursor: relAfter(`"1",""`)}, ErrBadCursor},
		{"one sort value", Query{Text: "electronic", Limit: 1, Cursor: relAfter(`"1"`)}, ErrBadCursor},
		{"offset 0", Query{Text: "electronic", Limit: 1, Cursor: relOffset(0)}, ErrBadCursor},
		{"offset negative", Query{Text: "electronic", Limit: 1, Cursor: relOffset(-5)}, ErrBadCursor},
		{"offset at the ranking's end", Query{Text: "electronic", Limit: 1, Cursor: relOffset(maxRanked)}, ErrBadCursor},
		{"no query hash", Query{Text: "electronic", Limit: 1, Cursor: b64(`{"k":"r","a":["1","at://x"],"o":1}`)}, ErrBadCursor},
		{"relevance cursor with trailing data", Query{Text: "electronic", Limit: 1, Cursor: b64(string(must(base64.RawURLEncoding.DecodeString(first.Cursor))) + "{}")}, ErrBadCursor},
		{"cursor of another query", Query{Text: "icelandic", Limit: 1, Cursor: first.Cursor}, ErrBadCursor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ix.Search(ctx, tt.q)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Search(%+v) = %v, want %v", tt.q, err, tt.want)
			}
		})
	}

	// The genuine cursors work, also for the same words spelt otherwise.
	second, err := ix.Search(ctx, Query{Text: "electronic", Limit: 1, Cursor: first.Cursor})
	if err != nil || len(second.URIs) != 1 {
		t.Fatalf("relevance second page: %v %+v", err, second)
	}
	if again, err := ix.Search(ctx, Query{Text: "Electronic!", Limit: 1, Cursor: first.Cursor}); err != nil || !slices.Equal(again.URIs, second.URIs) {
		t.Fatalf("same words, other spelling: %v %+v, want %v", err, again, second.URIs)
	}
	// An expired ranking, and a well-formed cursor with an unknown token,
	// continue from the position the cursor carries.
	ix.snaps.now = func() time.Time { return time.Now().Add(snapshotTTL + time.Second) }
	expired, err := ix.Search(ctx, Query{Text: "electronic", Limit: 1, Cursor: first.Cursor})
	if err != nil || !slices.Equal(expired.URIs, second.URIs) {
		t.Fatalf("expired cursor = %v %+v, want page %v", err, expired, second.URIs)
	}
	c, err := decodeCursor(first.Cursor, SortRelevance)
	if err != nil {
		t.Fatal(err)
	}
	c.Token = "00112233445566778899aabbccddeeff"
	unknown, err := ix.Search(ctx, Query{Text: "electronic", Limit: 1, Cursor: encodeCursor(c)})
	if err != nil || !slices.Equal(unknown.URIs, second.URIs) {
		t.Fatalf("unknown token = %v %+v, want page %v", err, unknown, second.URIs)
	}
	// A forged position gives a sane page: what ranks after it.
	c.After = []string{"0", "at://"}
	if past, err := ix.Search(ctx, Query{Text: "electronic", Limit: 1, Cursor: encodeCursor(c)}); err != nil || len(past.URIs) != 0 {
		t.Fatalf("cursor past every score = %v %+v, want an empty page", err, past)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// FuzzDecodeCursor: any string either fails with ErrBadCursor or decodes
// to a cursor that passes validation again after re-encoding.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{Kind: kindRelevance, After: []string{"1.25", "at://a"}, Offset: 3, Query: queryHash("x")}))
	f.Add(encodeCursor(cursor{Kind: kindNewest, After: []string{"1700000000", "at://a"}}))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, sort := range []Sort{SortRelevance, SortNewest} {
			c, err := decodeCursor(s, sort)
			if err != nil {
				if !errors.Is(err, ErrBadCursor) {
					t.Fatalf("decodeCursor(%q) = %v, not ErrBadCursor", s, err)
				}
				continue
			}
			if _, err := decodeCursor(encodeCursor(c), sort); err != nil {
				t.Fatalf("re-encoded %+v fails: %v", c, err)
			}
		}
	})
}

// TestSnapshotCacheBound: the cache stays within its byte budget, expires
// rankings, and evicts rankings nobody continued before any being paged.
func TestSnapshotCacheBound(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("at://did:plc:x/app.relay.track/%06d", i)
		}
		return out
	}
	one := (&snapshot{ids: ids(100)}).bytes()
	c := newSnapshotCache(time.Minute, 5*one)

	var paging []string
	for range 3 {
		tok, err := c.put(&snapshot{ids: ids(100)})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.get(tok); !ok { // a client continues it
			t.Fatal("fresh snapshot missing")
		}
		paging = append(paging, tok)
	}
	// A flood of rankings nobody continues, far past the budget.
	var flood []string
	for range 300 {
		tok, err := c.put(&snapshot{ids: ids(100)})
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, tok)
		if c.bytes > c.maxBytes {
			t.Fatalf("cache holds %d bytes, budget %d", c.bytes, c.maxBytes)
		}
	}
	for i, tok := range paging {
		if _, ok := c.get(tok); !ok {
			t.Errorf("ranking %d, being paged, was evicted by the flood", i)
		}
	}
	// The budget left over holds the newest of the flood.
	for i, tok := range flood {
		_, ok := c.get(tok)
		if want := i >= len(flood)-2; ok != want {
			t.Errorf("flood ranking %d present = %v, want %v", i, ok, want)
		}
	}
	// Paged rankings past their share of the budget (3.75 of 5 here):
	// the least recently used go first. The flood's survivors now page.
	c.get(flood[len(flood)-2])
	c.get(flood[len(flood)-1])
	for i, want := range []bool{false, false, true} {
		if _, ok := c.get(paging[i]); ok != want {
			t.Errorf("after the flood pages: paged ranking %d present = %v, want %v", i, ok, want)
		}
	}
	if c.pagedBytes > int(pagedShare*float64(c.maxBytes)) || c.bytes > c.maxBytes {
		t.Errorf("paged rankings hold %d bytes, all %d, budget %d", c.pagedBytes, c.bytes, c.maxBytes)
	}
	// A new ranking is frozen again: the share left it room.
	tok, err := c.put(&snapshot{ids: ids(100)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get(tok); !ok {
		t.Error("a new ranking found no room beside the paged ones")
	}
	// Expiry: nothing is served past ttl.
	c.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	for _, tok := range append(append(paging, flood...), tok) {
		if _, ok := c.get(tok); ok {
			t.Fatalf("snapshot %s served past its ttl", tok)
		}
	}
}
