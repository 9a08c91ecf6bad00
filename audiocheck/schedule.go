package audiocheck

import (
	"math/rand/v2"
	"time"

	"github.com/relaymusic/relay"
)

// Schedule is when to ask again. Zero fields take the defaults.
type Schedule struct {
	// MissGap is the least time between the two 404/410 answers that hide
	// a track (default 10m): one answer from a file being replaced, or a
	// CDN's brief confusion, hides nothing.
	MissGap time.Duration
	// OK is how long a track whose audio answered waits for its next check
	// (default 7 days).
	OK time.Duration
	// Missing is the first wait of a track found missing, doubled per
	// further miss up to MissingMax (defaults 1h and 24h).
	Missing, MissingMax time.Duration
	// Unreachable is the first wait after no answer, doubled while there
	// is none, up to UnreachableMax (defaults 5m and 24h).
	Unreachable, UnreachableMax time.Duration
	// Jitter spreads each wait by up to this fraction either way (default
	// 0.1), so tracks indexed together are not rechecked together.
	Jitter float64
}

func (s *Schedule) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.MissGap, 10*time.Minute)
	def(&s.OK, 7*24*time.Hour)
	def(&s.Missing, time.Hour)
	def(&s.MissingMax, 24*time.Hour)
	def(&s.Unreachable, 5*time.Minute)
	def(&s.UnreachableMax, 24*time.Hour)
	if s.Jitter <= 0 {
		s.Jitter = 0.1
	}
}

// next is the state after a check of prev's URL at now concluded r. Pure
// but for the jitter's randomness (jitter nil: none).
//
// The rules: an answer that the audio is there shows the track again; a
// 404/410 hides it only when the check before it, at least MissGap
// earlier, answered 404/410 too; no answer changes nothing that is shown
// or hidden (a missing track stays missing until an answer says it is
// there, an unhidden one is never hidden by an outage), and breaks a run of
// misses (the two that hide must be in a row).
func (s Schedule) next(prev relay.AudioCheck, r result, now time.Time, jitter func(time.Duration) time.Duration) relay.AudioCheck {
	if jitter == nil {
		jitter = func(d time.Duration) time.Duration { return d }
	}
	c := prev
	c.CheckedAt = now
	switch r {
	case resultOK:
		c.Status, c.Misses = relay.AudioOK, 0
		c.NextAt = now.Add(jitter(s.OK))
	case resultGone:
		switch {
		case prev.Status == relay.AudioMissing:
			c.Misses++
			c.NextAt = now.Add(jitter(backoff(s.Missing, s.MissingMax, c.Misses-2)))
		case prev.Misses > 0 && now.Sub(prev.CheckedAt) >= s.MissGap:
			c.Status, c.Misses = relay.AudioMissing, prev.Misses+1
			c.NextAt = now.Add(jitter(s.Missing))
		case prev.Misses > 0:
			// Too soon after the first to count as a second answer: the
			// first stands, and the next check waits for the gap.
			c.CheckedAt = prev.CheckedAt
			c.NextAt = prev.CheckedAt.Add(s.MissGap)
		default:
			c.Misses = 1
			c.NextAt = now.Add(s.MissGap)
		}
	default:
		if prev.Status == relay.AudioMissing {
			c.NextAt = now.Add(jitter(backoff(s.Missing, s.MissingMax, c.Misses-2)))
			break
		}
		wait := s.Unreachable
		if prev.Status == relay.AudioUnreachable && !prev.CheckedAt.IsZero() {
			wait = min(max(2*now.Sub(prev.CheckedAt), s.Unreachable), s.UnreachableMax)
		}
		c.Status, c.Misses = relay.AudioUnreachable, 0
		c.NextAt = now.Add(jitter(wait))
	}
	return c
}

// backoff is first doubled n times (n < 0 counts as 0), at most most.
func backoff(first, most time.Duration, n int) time.Duration {
	d := first
	for i := 0; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// jitterBy spreads d by up to f either way.
func jitterBy(f float64) func(time.Duration) time.Duration {
	return func(d time.Duration) time.Duration {
		return d + time.Duration(float64(d)*f*(2*rand.Float64()-1))
	}
}
