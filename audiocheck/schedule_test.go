package audiocheck

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/relaymusic/relay"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status int
		err    error
		want   result
	}{
		{200, nil, resultOK},
		{204, nil, resultOK},
		{206, nil, resultOK},
		{416, nil, resultOK},
		{404, nil, resultGone},
		{410, nil, resultGone},
		{0, errors.New("connection refused"), resultUnreachable},
		{404, errors.New("read after a 404 failed"), resultUnreachable},
		{301, nil, resultUnreachable},
		{400, nil, resultUnreachable},
		{401, nil, resultUnreachable},
		{403, nil, resultUnreachable},
		{405, nil, resultUnreachable}, // HEAD refused and then GET refused too
		{429, nil, resultUnreachable},
		{500, nil, resultUnreachable},
		{503, nil, resultUnreachable},
	} {
		if got := classify(tc.status, tc.err); got != tc.want {
			t.Errorf("classify(%d, %v) = %v, want %v", tc.status, tc.err, got, tc.want)
		}
	}
}

func TestReservedName(t *testing.T) {
	for host, want := range map[string]bool{
		"audio.example": true, "audio.relay.example": true, "EXAMPLE": true, "x.test": true,
		"a.invalid": true, "example.com": true, "cdn.example.org": true, "audio.example.": true,
		"example.com.au": false, "myexample.com": false, "r2.dev": false, "127.0.0.1": false,
		"localhost": false, "testing.com": false, "pub-1.r2.dev": false,
	} {
		if got := reservedName(host); got != want {
			t.Errorf("reservedName(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestScheduleNext(t *testing.T) {
	var s Schedule
	s.defaults()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name      string
		prev      relay.AudioCheck
		r         result
		now       time.Time
		status    relay.AudioStatus
		misses    int
		checkedAt time.Time
		next      time.Time
	}{
		{"first answer", relay.AudioCheck{}, resultOK, t0, relay.AudioOK, 0, t0, at(7 * 24 * time.Hour)},
		{"first 404 hides nothing, asks again after the gap", relay.AudioCheck{}, resultGone, t0,
			relay.AudioUnchecked, 1, t0, at(10 * time.Minute)},
		{"first 404 of an ok track keeps it ok", relay.AudioCheck{Status: relay.AudioOK}, resultGone, t0,
			relay.AudioOK, 1, t0, at(10 * time.Minute)},
		{"second 404 after the gap hides", relay.AudioCheck{Status: relay.AudioOK, Misses: 1, CheckedAt: t0}, resultGone, at(10 * time.Minute),
			relay.AudioMissing, 2, at(10 * time.Minute), at(70 * time.Minute)},
		{"second 404 too soon is not counted", relay.AudioCheck{Misses: 1, CheckedAt: t0}, resultGone, at(9 * time.Minute),
			relay.AudioUnchecked, 1, t0, at(10 * time.Minute)},
		{"missing again backs off", relay.AudioCheck{Status: relay.AudioMissing, Misses: 3, CheckedAt: t0}, resultGone, at(2 * time.Hour),
			relay.AudioMissing, 4, at(2 * time.Hour), at(2*time.Hour + 4*time.Hour)},
		{"missing backoff stops at a day", relay.AudioCheck{Status: relay.AudioMissing, Misses: 40, CheckedAt: t0}, resultGone, at(time.Hour),
			relay.AudioMissing, 41, at(time.Hour), at(25 * time.Hour)},
		{"an answer shows a missing track", relay.AudioCheck{Status: relay.AudioMissing, Misses: 5, CheckedAt: t0}, resultOK, at(time.Hour),
			relay.AudioOK, 0, at(time.Hour), at(time.Hour + 7*24*time.Hour)},
		{"no answer keeps a missing track missing", relay.AudioCheck{Status: relay.AudioMissing, Misses: 2, CheckedAt: t0}, resultUnreachable, at(time.Hour),
			relay.AudioMissing, 2, at(time.Hour), at(2 * time.Hour)},
		{"no answer breaks a run of misses", relay.AudioCheck{Status: relay.AudioOK, Misses: 1, CheckedAt: t0}, resultUnreachable, at(10 * time.Minute),
			relay.AudioUnreachable, 0, at(10 * time.Minute), at(15 * time.Minute)},
		{"no answer again doubles", relay.AudioCheck{Status: relay.AudioUnreachable, CheckedAt: t0}, resultUnreachable, at(5 * time.Minute),
			relay.AudioUnreachable, 0, at(5 * time.Minute), at(15 * time.Minute)},
		{"no answer backoff stops at a day", relay.AudioCheck{Status: relay.AudioUnreachable, CheckedAt: t0}, resultUnreachable, at(20 * time.Hour),
			relay.AudioUnreachable, 0, at(20 * time.Hour), at(44 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.next(tc.prev, tc.r, tc.now, nil)
			if got.Status != tc.status || got.Misses != tc.misses || !got.CheckedAt.Equal(tc.checkedAt) || !got.NextAt.Equal(tc.next) {
				t.Errorf("next = %s misses %d checked %v next %v; want %s misses %d checked %v next %v",
					got.Status, got.Misses, got.CheckedAt, got.NextAt, tc.status, tc.misses, tc.checkedAt, tc.next)
			}
		})
	}
}

func TestJitterStaysWithinItsFraction(t *testing.T) {
	j := jitterBy(0.1)
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := j(time.Hour)
		if d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("jitter of an hour by 10%% gave %v", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("1000 jittered waits took only %d values", len(seen))
	}
}

// TestHostsBounded: idle hosts past MaxHosts are forgotten; a busy one is
// kept, and its bound holds.
func TestHostsBounded(t *testing.T) {
	l := newHosts(1, 0, 4)
	ctx := t.Context()
	busy, err := l.acquire(ctx, "busy.example")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		release, err := l.acquire(ctx, "host"+string(rune('a'+i))+".example")
		if err != nil {
			t.Fatal(err)
		}
		release()
		if n := l.tracked(); n > 4 {
			t.Fatalf("%d hosts tracked, max 4", n)
		}
	}
	// busy.example is still held: a second request there must wait.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(short, "busy.example"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second request to a busy host (PerHost 1) got %v, want to wait", err)
	}
	busy()
	if release, err := l.acquire(ctx, "busy.example"); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
}

func TestHostOf(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://CDN.example.com/a.mp3", "cdn.example.com"},
		{"https://cdn.example.com./a.mp3", "cdn.example.com"},
		{"https://cdn.example.com:8443/a.mp3", "cdn.example.com"},
		{"https://[::1]/a.mp3", "::1"},
		{"not a url\x7f", "?"},
	} {
		if got := hostOf(tc.url); got != tc.want {
			t.Errorf("hostOf(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}
