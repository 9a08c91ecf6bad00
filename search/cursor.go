package search

import (
	"bytes"
	"container/list"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// ErrBadCursor wraps every cursor that cannot be decoded, belongs to another
// sort or query, or whose result set has expired.
var ErrBadCursor = errors.New("bad search cursor")

const (
	kindNewest    = "n"
	kindRelevance = "r"

	maxCursorLen = 1024

	snapshotTTL        = 10 * time.Minute
	snapshotMaxEntries = 256 // each holds up to maxRanked ids, ~100 KB
)

// cursor is the opaque page token, base64url JSON. Newest cursors carry the
// last hit's sort values for search-after; relevance cursors name a frozen
// ranking and an offset into it.
type cursor struct {
	Kind   string   `json:"k"`
	After  []string `json:"a,omitempty"`
	Token  string   `json:"t,omitempty"`
	Offset int      `json:"o,omitempty"`
}

func encodeCursor(c cursor) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings and ints always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses and validates s as a cursor for sort. Every failure
// wraps ErrBadCursor, since a cursor is client input.
func decodeCursor(s string, sort Sort) (cursor, error) {
	var c cursor
	if len(s) > maxCursorLen {
		return c, fmt.Errorf("%w: too long", ErrBadCursor)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	if dec.More() {
		return c, fmt.Errorf("%w: trailing data", ErrBadCursor)
	}
	switch sort {
	case SortNewest:
		if c.Kind != kindNewest || c.Token != "" || c.Offset != 0 || len(c.After) != 2 {
			return c, fmt.Errorf("%w: not a newest-first cursor", ErrBadCursor)
		}
		f, err := strconv.ParseFloat(c.After[0], 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return c, fmt.Errorf("%w: bad sort time %q", ErrBadCursor, c.After[0])
		}
		if c.After[1] == "" {
			return c, fmt.Errorf("%w: empty id", ErrBadCursor)
		}
	case SortRelevance:
		if c.Kind != kindRelevance || c.After != nil || c.Offset < 0 {
			return c, fmt.Errorf("%w: not a relevance cursor", ErrBadCursor)
		}
		if b, err := hex.DecodeString(c.Token); err != nil || len(b) != tokenBytes {
			return c, fmt.Errorf("%w: bad token", ErrBadCursor)
		}
	default:
		return c, fmt.Errorf("%w: unknown sort", ErrBadCursor)
	}
	return c, nil
}

const tokenBytes = 16

// snapshot is a relevance ranking frozen for the life of its cursors.
type snapshot struct {
	key     string // the analysed query words, so a cursor serves only its query
	ids     []string
	total   uint64
	token   string
	expires time.Time
}

// snapshotCache holds snapshots under random tokens, in memory: bounded in
// count, expiring after ttl, oldest-used out first. A restart loses them,
// and their cursors then fail with ErrBadCursor like expired ones.
type snapshotCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	lru   *list.List // front = most recently used; values are *snapshot
	items map[string]*list.Element
	now   func() time.Time // tests move the clock
}

func newSnapshotCache(ttl time.Duration, max int) *snapshotCache {
	return &snapshotCache{ttl: ttl, max: max, lru: list.New(), items: map[string]*list.Element{}, now: time.Now}
}

func (c *snapshotCache) put(s *snapshot) (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("search: cursor token: %w", err)
	}
	s.token = hex.EncodeToString(b)

	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	s.expires = now.Add(c.ttl)
	c.items[s.token] = c.lru.PushFront(s)
	// Evict the expired and, past the bound, the least recently used.
	for e := c.lru.Back(); e != nil; {
		prev := e.Prev()
		old := e.Value.(*snapshot)
		if c.lru.Len() > c.max || !now.Before(old.expires) {
			c.lru.Remove(e)
			delete(c.items, old.token)
		} else {
			break
		}
		e = prev
	}
	return s.token, nil
}

// get returns the live snapshot under token. Reading does not extend its
// life: a ranking older than ttl is stale however busy it is.
func (c *snapshotCache) get(token string) (*snapshot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[token]
	if !ok {
		return nil, false
	}
	s := e.Value.(*snapshot)
	if !c.now().Before(s.expires) {
		c.lru.Remove(e)
		delete(c.items, token)
		return nil, false
	}
	c.lru.MoveToFront(e)
	return s, true
}
