package audiocheck

import (
	"context"
	"sync"
	"time"
)

// hosts is politeness per host name (ports aside, as backfill counts
// them): at most perHost requests in flight and at least gap between two
// starts. It remembers at most max idle hosts; past that the idle ones are
// forgotten (a busy host is never: its bounds would reset).
type hosts struct {
	perHost int
	gap     time.Duration
	max     int

	mu sync.Mutex
	m  map[string]*host
}

type host struct {
	slots chan struct{}
	refs  int       // acquirers holding or waiting, under hosts.mu
	next  time.Time // the earliest next start, under hosts.mu
}

func newHosts(perHost int, gap time.Duration, max int) *hosts {
	return &hosts{perHost: perHost, gap: gap, max: max, m: map[string]*host{}}
}

// acquire waits for name's turn; release ends the request.
func (l *hosts) acquire(ctx context.Context, name string) (release func(), err error) {
	l.mu.Lock()
	h := l.m[name]
	if h == nil {
		if len(l.m) >= l.max {
			l.evict()
		}
		h = &host{slots: make(chan struct{}, l.perHost)}
		l.m[name] = h
	}
	h.refs++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		h.refs--
		l.mu.Unlock()
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	start := now
	if h.next.After(now) {
		start = h.next
	}
	h.next = start.Add(l.gap)
	l.mu.Unlock()
	if wait := start.Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			<-h.slots
			done()
			return nil, ctx.Err()
		}
	}
	return func() { <-h.slots; done() }, nil
}

// evict forgets the hosts nobody holds or waits for whose gap is over.
// Called with l.mu held.
func (l *hosts) evict() {
	now := time.Now()
	for name, h := range l.m {
		if h.refs == 0 && !h.next.After(now) {
			delete(l.m, name)
		}
	}
}

// tracked is how many hosts are remembered.
func (l *hosts) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
