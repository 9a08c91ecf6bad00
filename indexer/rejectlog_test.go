package indexer

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// captureHandler keeps every record logged through it.
type captureHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) lines() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, r := range h.records {
		m := map[string]any{"msg": r.Message}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.Any()
			return true
		})
		out = append(out, m)
	}
	return out
}

func TestRejectLog(t *testing.T) {
	type hit struct {
		at     time.Duration // since start
		reason string
	}
	type line struct {
		reason     string
		suppressed int64 // 0: no suppressed attribute
	}
	cases := []struct {
		name string
		hits []hit
		want []line
	}{
		{"one", []hit{{0, "a"}}, []line{{"a", 0}}},
		{"a flood of one reason logs once", []hit{{0, "a"}, {time.Second, "a"}, {2 * time.Second, "a"}, {59 * time.Second, "a"}}, []line{{"a", 0}}},
		{"after the interval, one line with the count", []hit{{0, "a"}, {time.Second, "a"}, {2 * time.Second, "a"}, {61 * time.Second, "a"}, {62 * time.Second, "a"}}, []line{{"a", 0}, {"a", 2}}},
		{"a quiet reason logs again without a count", []hit{{0, "a"}, {2 * time.Minute, "a"}}, []line{{"a", 0}, {"a", 0}}},
		{"reasons are limited apart", []hit{{0, "a"}, {0, "b"}, {time.Second, "a"}, {time.Second, "b"}, {time.Second, "c"}}, []line{{"a", 0}, {"b", 0}, {"c", 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &captureHandler{}
			l := newRejectLog(slog.New(h))
			start := time.Unix(1_700_000_000, 0)
			var now time.Time
			l.now = func() time.Time { return now }
			for _, x := range tc.hits {
				now = start.Add(x.at)
				l.Warn(x.reason, "event rejected", "uri", "at://x")
			}
			got := h.lines()
			if len(got) != len(tc.want) {
				t.Fatalf("logged %d lines, want %d: %v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				if got[i]["reason"] != w.reason || got[i]["uri"] != "at://x" {
					t.Errorf("line %d = %v, want reason %s", i, got[i], w.reason)
				}
				s, ok := got[i]["suppressed"]
				if w.suppressed == 0 && ok {
					t.Errorf("line %d has suppressed=%v, want none", i, s)
				}
				if w.suppressed != 0 && s != w.suppressed {
					t.Errorf("line %d suppressed = %v, want %d", i, s, w.suppressed)
				}
			}
		})
	}
}
