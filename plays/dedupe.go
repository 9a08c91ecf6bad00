package plays

import (
	"hash/maphash"
	"sync"
	"time"
)

// Window is how long a listener's play of a track keeps further plays of
// it from counting.
const Window = 30 * time.Minute

// DefaultMaxListens bounds the dedupe memory: 53 MB when full, measured
// by BenchmarkDedupeMemory (53 B a listen: map slot and queue entry).
const DefaultMaxListens = 1 << 20

// dedupe remembers who played what in the last Window, at most max
// entries, oldest forgotten first. What it keys by is a 64-bit hash of
// (ListenerID, track): two listens colliding (odds about n²/2⁶⁵) cost one
// uncounted play, and 8 bytes of key instead of 32 and a URI.
type dedupe struct {
	mu   sync.Mutex
	seed maphash.Seed
	max  int
	// at is when each remembered listen counted (unix seconds).
	at map[uint64]int64
	// fifo[head:] holds the listens in the order they counted, at most
	// max: its front is the oldest. An entry whose at no longer matches
	// the map was counted again later and is skipped when it leaves. It
	// grows with use, so an idle process holds little.
	fifo []listen
	head int
}

type listen struct {
	key uint64
	at  int64
}

func newDedupe(max int) *dedupe {
	if max <= 0 {
		max = DefaultMaxListens
	}
	return &dedupe{seed: maphash.MakeSeed(), max: max, at: map[uint64]int64{}}
}

// first reports whether id's play of track at now counts: no counted play
// of it in the Window before. A play that counts is remembered.
func (d *dedupe) first(id ListenerID, track string, now time.Time) bool {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.Write(id[:])
	h.WriteString(track)
	key := h.Sum64()
	t := now.Unix()
	window := int64(Window / time.Second)

	d.mu.Lock()
	defer d.mu.Unlock()
	// Forget what has expired, from the front, so memory follows the
	// listens of the last half hour rather than the bound.
	for d.head < len(d.fifo) && d.fifo[d.head].at <= t-window {
		d.pop()
	}
	if at, ok := d.at[key]; ok && at > t-window {
		return false
	}
	if len(d.fifo)-d.head >= d.max {
		d.pop()
	}
	d.at[key] = t
	d.fifo = append(d.fifo, listen{key, t})
	return true
}

// pop forgets the oldest listen.
func (d *dedupe) pop() {
	l := d.fifo[d.head]
	if at, ok := d.at[l.key]; ok && at == l.at {
		delete(d.at, l.key)
	}
	d.head++
	// Move the live part down once the dead front is half the slice:
	// amortized O(1), and the slice never holds more than twice max.
	if d.head >= 1024 && d.head*2 >= len(d.fifo) {
		n := copy(d.fifo, d.fifo[d.head:])
		d.fifo = d.fifo[:n]
		d.head = 0
	}
}

// len is the number of listens remembered.
func (d *dedupe) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.at)
}
