package backfill

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// hosts limits the work on each PDS host (by name: the port is ignored,
// else every port would be a fresh host): at most perHost getRepo calls at
// once, at most rps per second, and none while the host is paused after a
// 429.
type hosts struct {
	perHost int
	rps     float64

	mu sync.Mutex
	m  map[string]*host
}

type host struct {
	sem     chan struct{}
	limiter *rate.Limiter
	paused  time.Time
}

func newHosts(perHost int, rps float64) *hosts {
	return &hosts{perHost: perHost, rps: rps, m: map[string]*host{}}
}

// hostKey is what the limits are kept by: the host name alone, lowercased,
// so one server named with different ports (or cases, or a trailing dot)
// shares one set of limits.
func hostKey(name string) string {
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(name, "[]")), ".")
}

func (hs *hosts) get(name string) *host {
	name = hostKey(name)
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h, ok := hs.m[name]
	if !ok {
		if len(hs.m) >= sweepHosts {
			hs.sweep(time.Now())
		}
		h = &host{sem: make(chan struct{}, hs.perHost), limiter: rate.NewLimiter(rate.Limit(hs.rps), 1)}
		hs.m[name] = h
	}
	return h
}

// sweepHosts is how many hosts the map holds before idle ones are dropped:
// the hosts come from DID documents, which anyone can write, so the map
// must not keep one entry per host ever named.
const sweepHosts = 4096

// sweep drops the hosts whose limits hold no state: no call in flight, no
// pause running, and a full rate bucket (a host made again starts the
// same). The caller holds hs.mu.
func (hs *hosts) sweep(now time.Time) {
	for name, h := range hs.m {
		if len(h.sem) == 0 && !h.paused.After(now) && h.limiter.TokensAt(now) >= 1 {
			delete(hs.m, name)
		}
	}
}

// acquire waits for a slot on the host; release gives it back.
func (hs *hosts) acquire(ctx context.Context, name string) (release func(), err error) {
	h := hs.get(name)
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-h.sem }
	hs.mu.Lock()
	wait := time.Until(h.paused)
	hs.mu.Unlock()
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	if err := h.limiter.Wait(ctx); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// pause stops new calls to the host for d (it answered 429).
func (hs *hosts) pause(name string, d time.Duration) {
	h := hs.get(name)
	hs.mu.Lock()
	if until := time.Now().Add(d); until.After(h.paused) {
		h.paused = until
	}
	hs.mu.Unlock()
}
