package indexer

import (
	"log/slog"
	"sync"
	"time"
)

// rejectLogEvery is how often at most one reason is logged again after its
// first occurrence.
const rejectLogEvery = time.Minute

// rejectLog logs rejections without letting a hostile stream flood the log:
// the first of each reason is logged, then at most one line per reason per
// interval, carrying how many were left out since the last line. Every
// rejection is still counted in relay_ingest_rejected_total; the log only
// says what kind and shows one at-uri. Reasons are a fixed set of constants,
// so the map stays small.
type rejectLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	reasons map[string]*reasonLog
}

type reasonLog struct {
	last       time.Time
	suppressed int
}

func newRejectLog(log *slog.Logger) *rejectLog {
	return &rejectLog{log: log, every: rejectLogEvery, now: time.Now, reasons: map[string]*reasonLog{}}
}

// Warn logs msg with the reason and args, unless the reason was logged less
// than an interval ago, in which case it is only counted for the next line.
func (l *rejectLog) Warn(reason, msg string, args ...any) {
	l.mu.Lock()
	now := l.now()
	r := l.reasons[reason]
	if r == nil {
		r = &reasonLog{}
		l.reasons[reason] = r
	} else if now.Sub(r.last) < l.every {
		r.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.last, r.suppressed = now, 0
	l.mu.Unlock()

	args = append(args, "reason", reason)
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	l.log.Warn(msg, args...)
}
