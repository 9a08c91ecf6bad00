package backfill

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/relaymusic/relay"
)

// progress reports a run: a bar redrawn in place on a terminal, or a plain
// log line every `every` repos otherwise.
type progress struct {
	w     io.Writer // the terminal; nil: log lines
	log   *slog.Logger
	every int
	start time.Time
	// metrics get the queue's counts as the run goes.
	metrics *Metrics

	mu                  sync.Mutex
	total, done, failed int
	records             int64
	lastLogged          int
}

// repoFinished counts one repo; done repos bring their record count.
func (p *progress) repoFinished(ok bool, records int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		p.done++
		p.records += int64(records)
	} else {
		p.failed++
	}
	if p.w == nil && p.done+p.failed-p.lastLogged >= p.every {
		p.lastLogged = p.done + p.failed
		p.log.Info("backfill progress", p.attrsLocked()...)
	}
}

func (p *progress) attrsLocked() []any {
	el := time.Since(p.start).Seconds()
	rate := float64(p.done+p.failed) / max(el, 1e-9)
	return []any{"repos_done", p.done, "repos_failed", p.failed, "repos_total", p.total,
		"records", p.records, "repos_per_s", fmt.Sprintf("%.1f", rate), "eta", p.etaLocked(rate).String()}
}

func (p *progress) etaLocked(rate float64) time.Duration {
	left := p.total - p.done
	if rate <= 0 || left <= 0 {
		return 0
	}
	return (time.Duration(float64(left)/rate) * time.Second).Round(time.Second)
}

// draw redraws the bar (terminal only).
func (p *progress) draw(final bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = min(width, width*(p.done+p.failed)/p.total)
	}
	el := time.Since(p.start).Seconds()
	rate := float64(p.done+p.failed) / max(el, 1e-9)
	line := fmt.Sprintf("\rbackfill [%s%s] %d/%d repos · %d failed · %d records · %.1f repos/s · eta %s ",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		p.done, p.total, p.failed, p.records, rate, p.etaLocked(rate))
	if final {
		line += "\n"
	}
	fmt.Fprint(p.w, line)
}

// follow starts the progress of a run from the queue's counts: the bar
// redrawn every 250ms, the relay_backfill_repos gauges every 2s. stop ends
// it with a last drawing, and returns once nothing draws any more.
func (p *progress) follow(ctx context.Context, q *queue, c relay.BackfillCounts) (stop func()) {
	p.mu.Lock()
	// Given-up repos are not to do, whatever this run does.
	p.total = c.Pending + c.Done + c.Failed - c.Exhausted
	p.done = c.Done
	p.mu.Unlock()
	p.metrics.setCounts(c)
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			case <-t.C:
				p.draw(false)
				if i%8 == 0 {
					if c, err := q.counts(ctx); err == nil {
						p.metrics.setCounts(c)
					}
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-stopped
		p.draw(true)
	}
}
