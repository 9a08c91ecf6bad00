package plays

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

func TestKeysRotateDaily(t *testing.T) {
	k := NewKeys()
	addr := []byte("192.0.2.1")
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	first := k.ID(addr, day.Add(time.Minute))
	for _, tc := range []struct {
		name string
		at   time.Time
		same bool
	}{
		{"later the same UTC day", day.Add(23*time.Hour + 59*time.Minute), true},
		{"the same instant in another zone", day.Add(time.Hour).In(time.FixedZone("x", -5*3600)), true},
		{"the next UTC day", day.Add(24 * time.Hour), false},
	} {
		got := k.ID(addr, tc.at)
		if (got == first) != tc.same {
			t.Errorf("%s: same id %v, want %v", tc.name, got == first, tc.same)
		}
	}
	if k.ID([]byte("192.0.2.2"), day.Add(24*time.Hour)) == k.ID(addr, day.Add(24*time.Hour)) {
		t.Error("two addresses, one id")
	}
	// A new key, not a function of the day: two processes' keys differ.
	if NewKeys().ID(addr, day) == NewKeys().ID(addr, day) {
		t.Error("two Keys made the same id: the key is not random")
	}
}

func id(n int) ListenerID {
	var l ListenerID
	binary.BigEndian.PutUint64(l[:], uint64(n))
	return l
}

func TestDedupeWindow(t *testing.T) {
	d := newDedupe(100)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		name     string
		listener int
		track    string
		at       time.Duration
		want     bool
	}{
		{"first play counts", 1, "a", 0, true},
		{"again at once: repeat", 1, "a", time.Second, false},
		{"another track counts", 1, "b", 2 * time.Second, true},
		{"another listener counts", 2, "a", 3 * time.Second, true},
		{"just inside 30 minutes: repeat", 1, "a", Window - time.Second, false},
		{"30 minutes after the counted play: counts", 1, "a", Window, true},
		{"the repeat did not extend the window", 1, "b", Window + 2*time.Second, true},
		{"counted again, so a new window", 1, "a", Window + time.Minute, false},
	}
	for _, s := range steps {
		if got := d.first(id(s.listener), s.track, t0.Add(s.at)); got != s.want {
			t.Errorf("%s: counted %v, want %v", s.name, got, s.want)
		}
	}
	// Expired listens are dropped as time passes, not held to the bound.
	d.first(id(9), "z", t0.Add(3*Window))
	if n := d.len(); n != 1 {
		t.Errorf("after an hour, %d listens remembered, want 1", n)
	}
}

// TestDedupeBound crosses the bound: the oldest listens are forgotten
// first, and the memory holds max.
func TestDedupeBound(t *testing.T) {
	const max = 1000
	d := newDedupe(max)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 * max {
		if !d.first(id(i), "a", t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("listener %d did not count", i)
		}
		if n := d.len(); n > max {
			t.Fatalf("%d listens remembered, past the bound %d", n, max)
		}
		if n := len(d.fifo) - d.head; n > max {
			t.Fatalf("%d listens queued, past the bound %d", n, max)
		}
	}
	if n := d.len(); n != max {
		t.Errorf("%d listens remembered, want %d", n, max)
	}
	if cap(d.fifo) > 4*max+2048 {
		t.Errorf("queue capacity %d for a bound of %d", cap(d.fifo), max)
	}
	later := t0.Add(3 * max * time.Millisecond)
	// The newest are still remembered; the oldest were forgotten, so they
	// count again (a play more, never one lost).
	if d.first(id(3*max-1), "a", later) {
		t.Error("the newest listen was forgotten")
	}
	if !d.first(id(0), "a", later) {
		t.Error("the oldest listen was not forgotten")
	}
}

// BenchmarkDedupeMemory reports the heap a full dedupe memory holds, per
// listen and at DefaultMaxListens.
func BenchmarkDedupeMemory(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := newDedupe(DefaultMaxListens)
		t0 := time.Now()
		for i := range DefaultMaxListens {
			d.first(id(i), "at://did:plc:x/app.relay.track/3k", t0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(DefaultMaxListens), "B/listen")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
		runtime.KeepAlive(d)
	}
}
