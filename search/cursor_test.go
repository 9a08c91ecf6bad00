package search

import (
	"context"
	"encoding/base64"
	"errors"
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
		{"cursor too long", Query{Text: "electronic", Limit: 1, Cursor: strings.Repeat("A", 2000)}, ErrBadCursor},
		{"newest cursor for relevance", Query{Text: "electronic", Limit: 1, Cursor: newest.Cursor}, ErrBadCursor},
		{"relevance cursor for newest", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: first.Cursor}, ErrBadCursor},
		{"newest cursor bad time", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: b64(`{"k":"n","a":["soon","at://x"]}`)}, ErrBadCursor},
		{"newest cursor NaN", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: b64(`{"k":"n","a":["NaN","at://x"]}`)}, ErrBadCursor},
		{"newest cursor short", Query{Text: "electronic", Limit: 1, Sort: SortNewest, Cursor: b64(`{"k":"n","a":["1"]}`)}, ErrBadCursor},
		{"unknown token", Query{Text: "electronic", Limit: 1, Cursor: b64(`{"k":"r","t":"00112233445566778899aabbccddeeff","o":1}`)}, ErrBadCursor},
		{"malformed token", Query{Text: "electronic", Limit: 1, Cursor: b64(`{"k":"r","t":"zz","o":1}`)}, ErrBadCursor},
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

	// The genuine cursors still work...
	if _, err := ix.Search(ctx, Query{Text: "electronic", Limit: 1, Cursor: first.Cursor}); err != nil {
		t.Fatalf("relevance second page: %v", err)
	}
	if _, err := ix.Search(ctx, Query{Text: "Electronic!", Limit: 1, Cursor: first.Cursor}); err != nil {
		t.Fatalf("same words, other spelling: %v", err)
	}
	// ...until the ranking expires.
	ix.snaps.now = func() time.Time { return time.Now().Add(snapshotTTL + time.Second) }
	_, err = ix.Search(ctx, Query{Text: "electronic", Limit: 1, Cursor: first.Cursor})
	if !errors.Is(err, ErrBadCursor) {
		t.Fatalf("expired cursor = %v, want ErrBadCursor", err)
	}
}

func TestSnapshotCacheBound(t *testing.T) {
	c := newSnapshotCache(time.Minute, 3)
	var tokens []string
	for range 5 {
		tok, err := c.put(&snapshot{ids: []string{"a"}})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
		if len(tokens) == 3 {
			c.get(tokens[0]) // recently used: survives the next evictions
		}
	}
	want := map[int]bool{0: true, 1: false, 2: false, 3: true, 4: true}
	for i, tok := range tokens {
		if _, ok := c.get(tok); ok != want[i] {
			t.Errorf("token %d present = %v, want %v", i, ok, want[i])
		}
	}
}
