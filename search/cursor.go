package search

import (
	"bytes"
	"container/list"
	"crypto/rand"
	"crypto/sha256"
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

// ErrBadCursor wraps every cursor that cannot be decoded or belongs to
// another sort or query. A relevance cursor never fails for being old or
// for reaching another process: see searchRelevance.
var ErrBadCursor = errors.New("bad search cursor")

const (
	kindNewest    = "n"
	kindRelevance = "r"

	// maxCursorLen fits a cursor carrying any track's at-uri: a DID may be
	// 2 KB (did:web), and a cursor naming a hostile artist's track at a
	// page boundary must not break the page after it for everyone.
	maxCursorLen = 4096

	snapshotTTL = 10 * time.Minute
	// snapshotMaxBytes bounds the memory of frozen rankings (a full one,
	// maxRanked at-uris of ~70 bytes, is about 110 KB: ~300 of them).
	snapshotMaxBytes = 32 << 20
)

// cursor is the opaque page token, base64url JSON; it is client input, so
// decodeCursor checks every field. Newest cursors carry the last hit's sort
// values for search-after. Relevance cursors carry the position in the
// ranking (the last ranked hit's exact score and id, and how many ranked
// hits precede the page), the query they belong to, whether the ranking
// was typo-tolerant, and optionally the token of this process's frozen
// copy of the ranking. Nothing in it is trusted beyond choosing a page:
// a forged one costs what a first search costs.
type cursor struct {
	Kind   string   `json:"k"`
	After  []string `json:"a,omitempty"`
	Token  string   `json:"t,omitempty"`
	Offset int      `json:"o,omitempty"`
	Query  string   `json:"q,omitempty"`
	Fuzzy  bool     `json:"f,omitempty"`
}

func encodeCursor(c cursor) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings, ints and bools always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// formatScore writes a score so that ParseFloat gives back the same float64,
// which search-after compares exactly.
func formatScore(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// queryHash names the analysed query words in a relevance cursor, so a
// cursor continues only its own query.
func queryHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:queryHashBytes])
}

const (
	queryHashBytes = 8
	tokenBytes     = 16
)

// decodeCursor parses and validates s as a cursor for sort. Every failure
// wraps ErrBadCursor, since a cursor is client input.
func decodeCursor(s string, sort Sort) (cursor, error) {
	c, err := decodeRaw(s)
	if err != nil {
		return c, err
	}
	switch sort {
	case SortNewest:
		if c.Kind != kindNewest || c.Token != "" || c.Offset != 0 || c.Query != "" || c.Fuzzy || len(c.After) != 2 {
			return c, fmt.Errorf("%w: not a newest-first cursor", ErrBadCursor)
		}
		if !finite(c.After[0]) {
			return c, fmt.Errorf("%w: bad sort time %q", ErrBadCursor, c.After[0])
		}
	case SortRelevance:
		if c.Kind != kindRelevance || len(c.After) != 2 {
			return c, fmt.Errorf("%w: not a relevance cursor", ErrBadCursor)
		}
		if !finite(c.After[0]) {
			return c, fmt.Errorf("%w: bad score %q", ErrBadCursor, c.After[0])
		}
		if err := checkRanked(c); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf("%w: unknown sort", ErrBadCursor)
	}
	if c.After[1] == "" {
		return c, fmt.Errorf("%w: empty id", ErrBadCursor)
	}
	return c, nil
}

// decodeRaw decodes s, strictly, into a cursor to be validated for its use.
func decodeRaw(s string) (cursor, error) {
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
	return c, nil
}

// finite reports whether v is a number search-after can compare.
func finite(v string) bool {
	f, err := strconv.ParseFloat(v, 64)
	return err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// checkRanked checks what a relevance cursor (of tracks or of artists)
// carries besides its position: offset, query hash and token.
func checkRanked(c cursor) error {
	// Cursors are only issued mid-ranking: offset maxRanked is the end.
	if c.Offset < 1 || c.Offset >= maxRanked {
		return fmt.Errorf("%w: offset %d not in 1..%d", ErrBadCursor, c.Offset, maxRanked-1)
	}
	if b, err := hex.DecodeString(c.Query); err != nil || len(b) != queryHashBytes {
		return fmt.Errorf("%w: bad query hash", ErrBadCursor)
	}
	if b, err := hex.DecodeString(c.Token); c.Token != "" && (err != nil || len(b) != tokenBytes) {
		return fmt.Errorf("%w: bad token", ErrBadCursor)
	}
	return nil
}

// snapshot is a relevance ranking frozen for the life of its cursors, so
// paging through it neither repeats nor skips while the index changes.
type snapshot struct {
	key    string // the analysed query words, so a cursor serves only its query
	ids    []string
	scores []float64 // scores[i] is ids[i]'s, for the cursors' search-after position
	// tracks[i] is artist ids[i]'s track count, the tie break of artist
	// rankings (nil in track rankings).
	tracks []float64
	total  uint64
	fuzzy  bool

	token     string
	expires   time.Time
	size      int
	continued bool // a cursor of it has been used: some client is paging
}

func (s *snapshot) bytes() int {
	n := 128 + len(s.key) // the struct, its map entry and list element, roughly
	for _, id := range s.ids {
		n += len(id) + 16 + 8 // bytes, string header, score
	}
	n += 8 * len(s.tracks)
	return n
}

// snapshotCache holds snapshots under random tokens, in this process's
// memory, within a byte budget and for at most ttl. Losing one costs no
// error (the cursor continues by search-after), only the freeze against
// concurrent writes, so eviction is about who keeps that guarantee:
// snapshots nobody has continued go first, oldest first, so a flood of
// one-page searches evicts only its own kind, never a client mid-paging.
// Snapshots being paged through may fill at most pagedShare of the budget,
// least recently used out first past it, so a flood that pages too (a
// request per snapshot) cannot keep new searches from being frozen.
type snapshotCache struct {
	mu         sync.Mutex
	ttl        time.Duration
	maxBytes   int
	bytes      int
	pagedBytes int
	fresh      *list.List // never continued; front = newest
	paged      *list.List // continued at least once; front = most recently used
	items      map[string]*list.Element
	now        func() time.Time // tests move the clock
}

func newSnapshotCache(ttl time.Duration, maxBytes int) *snapshotCache {
	return &snapshotCache{ttl: ttl, maxBytes: maxBytes, fresh: list.New(), paged: list.New(),
		items: map[string]*list.Element{}, now: time.Now}
}

func (c *snapshotCache) put(s *snapshot) (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("search: cursor token: %w", err)
	}
	s.token = hex.EncodeToString(b)
	s.size = s.bytes()

	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	s.expires = now.Add(c.ttl)
	c.items[s.token] = c.fresh.PushFront(s)
	c.bytes += s.size
	// Expired snapshots go whatever the budget; fresh ones are in creation
	// order, so the sweep stops at the first live one.
	for e := c.fresh.Back(); e != nil && !now.Before(e.Value.(*snapshot).expires); e = c.fresh.Back() {
		c.remove(c.fresh, e)
	}
	c.evict()
	return s.token, nil
}

const pagedShare = 0.75

// evict brings the cache within its budget and the paged share.
func (c *snapshotCache) evict() {
	for c.pagedBytes > int(pagedShare*float64(c.maxBytes)) {
		c.remove(c.paged, c.paged.Back())
	}
	for c.bytes > c.maxBytes {
		l := c.fresh
		if l.Len() == 0 {
			l = c.paged
		}
		c.remove(l, l.Back())
	}
}

func (c *snapshotCache) remove(l *list.List, e *list.Element) {
	s := l.Remove(e).(*snapshot)
	delete(c.items, s.token)
	c.bytes -= s.size
	if s.continued {
		c.pagedBytes -= s.size
	}
}

// get returns the live snapshot under token and marks it continued.
// Reading does not extend its life: a ranking older than ttl is stale
// however busy it is.
func (c *snapshotCache) get(token string) (*snapshot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[token]
	if !ok {
		return nil, false
	}
	s := e.Value.(*snapshot)
	l := c.fresh
	if s.continued {
		l = c.paged
	}
	if !c.now().Before(s.expires) {
		c.remove(l, e)
		return nil, false
	}
	if s.continued {
		c.paged.MoveToFront(e)
	} else {
		c.fresh.Remove(e)
		s.continued = true
		c.items[token] = c.paged.PushFront(s)
		c.pagedBytes += s.size
		c.evict()
	}
	return s, true
}
