package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-json"

	"github.com/relaymusic/relay/bench/corpus"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/search"
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchCorpus(ctx context.Context, c config, r *report, log *slog.Logger) error {
	spec := corpus.Spec{Seed: c.seed, Tracks: c.tracks}
	root := cacheKeyDir(c, spec.Key())
	log.Info("corpus", "tracks", c.tracks, "seed", c.seed, "cache", root)
	built, err := corpus.Build(ctx, c.cache, spec, log)
	if err != nil {
		return err
	}
	cmd := c.command
	if !built.Cached {
		r.add(figure{Section: "corpus", Name: "build: generate + ApplyBatch into SQLite", Value: float64(c.tracks) / built.Stats.SQLite.Seconds(), Unit: "tracks/s",
			Baseline: float64(c.tracks) / built.Stats.Generate.Seconds(), BaseName: "generate only", Command: cmd})
		r.add(figure{Section: "corpus", Name: "build: search.Rebuild (Bleve)", Value: float64(c.tracks) / built.Stats.Bleve.Seconds(), Unit: "tracks/s",
			Baseline: float64(c.tracks) / built.Stats.SQLite.Seconds(), BaseName: "SQLite load", Command: cmd})
	} else {
		r.note("corpus", "The corpus came from the cache (%s); its build times are not measured again.", root)
	}

	queries := corpus.Queries(spec, c.seed+1, c.perKind)
	var recordBytes int64
	sm := newSampler(spec, c.seed+2, time.Now())
	g := corpus.New(spec)
	for t := g.Next(); t != nil; t = g.Next() {
		recordBytes += int64(len(t.Record))
		sm.see(t)
	}

	// Disk per track, against the record JSON itself and an FTS5 table.
	ftsPath := filepath.Join(root, "fts.db")
	log.Info("fts5 table", "path", ftsPath)
	db, ftsErr := buildFTS(ctx, ftsPath, spec)
	if ftsErr != nil && !errors.Is(ftsErr, errNoFTS5) {
		return ftsErr
	}
	if db != nil {
		defer db.Close()
	}
	n := float64(c.tracks)
	sqliteBytes := dirSize(datadir.StorePath(built.DataDir)) + dirSize(datadir.StorePath(built.DataDir)+"-wal")
	bleveBytes := dirSize(datadir.IndexPath(built.DataDir))
	r.add(figure{Section: "resources", Name: "SQLite bytes on disk per track", Value: float64(sqliteBytes) / n, Unit: "bytes",
		Baseline: float64(recordBytes) / n, BaseName: "record JSON", Command: cmd})
	if db != nil {
		r.add(figure{Section: "resources", Name: "Bleve bytes on disk per track", Value: float64(bleveBytes) / n, Unit: "bytes",
			Baseline: float64(dirSize(ftsPath)) / n, BaseName: "FTS5 table", Command: cmd})
	} else {
		r.add(figure{Section: "resources", Name: "Bleve bytes on disk per track", Value: float64(bleveBytes) / n, Unit: "bytes",
			Baseline: float64(recordBytes) / n, BaseName: "record JSON", Command: cmd})
	}

	// A copy to serve: relay writes to its data dir.
	work, err := os.MkdirTemp("", "relaybench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	if err := copyDir(built.DataDir, data); err != nil {
		return fmt.Errorf("copying corpus: %w", err)
	}
	if err := writePlays(ctx, data, sm.s.plays); err != nil {
		return err
	}

	// In process: Bleve (relay's search.Index) against FTS5.
	if err := benchEngines(ctx, c, r, datadir.IndexPath(data), db, queries, ftsErr); err != nil {
		return err
	}

	// relay serve: start time and idle memory, against an empty data dir.
	empty, err := startRelay(ctx, c.relay, filepath.Join(work, "empty"), filepath.Join(work, "empty.log"))
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	emptyRSS, _ := memory(empty.cmd.Process.Pid)
	emptyStart := empty.started
	empty.stop()

	p, err := startRelay(ctx, c.relay, data, filepath.Join(work, "relay.log"))
	if err != nil {
		return err
	}
	defer p.stop()
	r.add(figure{Section: "resources", Name: "relay serve start to first answer", Value: ms(p.started), Unit: "ms",
		Baseline: ms(emptyStart), BaseName: "empty data dir", Command: cmd})
	time.Sleep(2 * time.Second)
	idleRSS, _ := memory(p.cmd.Process.Pid)
	r.add(figure{Section: "resources", Name: "relay serve RSS, idle with corpus", Value: float64(idleRSS) / (1 << 20), Unit: "MB",
		Baseline: float64(emptyRSS) / (1 << 20), BaseName: "empty data dir", Command: cmd})

	if err := benchQueries(ctx, c, r, p, queries, &sm.s, log); err != nil {
		return err
	}
	rss, hwm := memory(p.cmd.Process.Pid)
	r.add(figure{Section: "resources", Name: "relay serve RSS after query load", Value: float64(rss) / (1 << 20), Unit: "MB",
		Baseline: float64(idleRSS) / (1 << 20), BaseName: "idle", Command: cmd})
	r.add(figure{Section: "resources", Name: "relay serve peak RSS (VmHWM)", Value: float64(hwm) / (1 << 20), Unit: "MB",
		Baseline: float64(idleRSS) / (1 << 20), BaseName: "idle", Command: cmd})
	return nil
}

// benchEngines runs the query set against Bleve and FTS5 in process, one
// query at a time, a few rounds: latency and recall@10 per kind.
func benchEngines(ctx context.Context, c config, r *report, bleveDir string, db *sql.DB, queries []corpus.Query, ftsErr error) error {
	ix, err := search.Open(bleveDir)
	if err != nil {
		return fmt.Errorf("opening the corpus index: %w", err)
	}
	defer ix.Close()
	const rounds = 3
	type stats struct {
		lats        []time.Duration
		hits, total int
		errs        int
	}
	bl, ft := map[corpus.Kind]*stats{}, map[corpus.Kind]*stats{}
	for _, k := range append([]corpus.Kind{"all"}, corpus.Kinds...) {
		bl[k], ft[k] = &stats{}, &stats{}
	}
	record := func(m map[corpus.Kind]*stats, q corpus.Query, d time.Duration, uris []string, err error, first bool) {
		for _, k := range []corpus.Kind{"all", q.Kind} {
			s := m[k]
			if err != nil {
				if first {
					s.errs++
					s.total++
				}
				continue
			}
			s.lats = append(s.lats, d)
			if first {
				s.total++
				if slices.Contains(uris, q.Target.String()) {
					s.hits++
				}
			}
		}
	}
	for round := range rounds {
		for _, q := range queries {
			t0 := time.Now()
			res, err := ix.Search(ctx, search.Query{Text: q.Text, Limit: 10})
			record(bl, q, time.Since(t0), res.URIs, err, round == 0)
			if db != nil {
				t0 = time.Now()
				uris, err := ftsSearch(ctx, db, q)
				record(ft, q, time.Since(t0), uris, err, round == 0)
			}
		}
	}
	cmd := c.command
	for _, k := range append([]corpus.Kind{"all"}, corpus.Kinds...) {
		b, f := bl[k], ft[k]
		bp50, bp99 := percentiles(b.lats)
		fp50, fp99 := percentiles(f.lats)
		name := fmt.Sprintf("%s queries (%d)", k, b.total)
		base, baseName := 0.0, ""
		if db != nil {
			base, baseName = ms(fp50), "FTS5"
		}
		r.add(figure{Section: "search vs FTS5", Name: name + " p50", Value: ms(bp50), Unit: "ms", Baseline: base, BaseName: baseName, Command: cmd})
		if db != nil {
			base = ms(fp99)
		}
		r.add(figure{Section: "search vs FTS5", Name: name + " p99", Value: ms(bp99), Unit: "ms", Baseline: base, BaseName: baseName, Command: cmd})
		if b.total > 0 {
			if db != nil {
				base = 100 * float64(f.hits) / float64(max(1, f.total))
			}
			r.add(figure{Section: "search vs FTS5", Name: name + " recall@10", Value: 100 * float64(b.hits) / float64(b.total), Unit: "%", Baseline: base, BaseName: baseName, Command: cmd})
		}
		if b.errs > 0 || f.errs > 0 {
			r.note("search vs FTS5", "%s: %d Bleve and %d FTS5 queries failed (counted as misses).", k, b.errs, f.errs)
		}
	}
	if db == nil {
		r.note("search vs FTS5", "FTS5 was not measured: %v.", ftsErr)
	}
	return nil
}

// benchQueries loads relay serve over loopback at fixed concurrency, and a
// trivial handler in this process with the same client, in the same run.
func benchQueries(ctx context.Context, c config, r *report, p *relayProc, queries []corpus.Query, sm *sample, log *slog.Logger) error {
	client := newClient(c.conc)
	feed := p.base + "/xrpc/app.relay.feed.getDiscoveryFeed"
	first := []string{feed + "?limit=50"}
	// Deep pages: cursors collected by paging 100 at a time.
	deep := deepPages(ctx, client, feed+"?limit=100", feed+"?limit=50")
	if len(deep) == 0 {
		deep = first
	}
	var searches []string
	for _, q := range queries {
		searches = append(searches, p.base+"/xrpc/app.relay.feed.searchTracks?q="+url.QueryEscape(q.Text))
	}

	// The lookups: getTracks of 25 uris, the biggest artist's feed (its
	// first page, and deep pages as the feed's), trending (plays written
	// into the served copy, see writePlays) and artist search.
	lookups := sm.getTracksURLs(p.base)
	artistFeed := p.base + "/xrpc/app.relay.feed.getArtistFeed?actor=" + url.QueryEscape(sm.bigArtist.String())
	artistFirst := []string{artistFeed + "&limit=50"}
	artistDeep := deepPages(ctx, client, artistFeed+"&limit=100", artistFeed+"&limit=50")
	trendingBase := p.base + "/xrpc/app.relay.feed.getTrending"
	var trending []string
	for _, w := range []string{"day", "week", "month"} {
		trending = append(trending, trendingBase+"?limit=50&window="+w)
	}
	trendingDeep := deepPages(ctx, client, trendingBase+"?limit=100&window=week", trendingBase+"?limit=50&window=week")
	var artistSearches []string
	for _, q := range sm.artistNames {
		artistSearches = append(artistSearches, p.base+"/xrpc/app.relay.actor.searchArtists?q="+url.QueryEscape(q))
	}

	triv, closeTriv, err := trivialServer()
	if err != nil {
		return err
	}
	defer closeTriv()

	// Warm up connections and caches.
	runLoad(ctx, client, append(append(append([]string{}, first...), deep...), searches...), c.conc, 2*time.Second)

	baseline := runLoad(ctx, client, []string{triv + "/xrpc/trivial"}, c.conc, c.dur)
	log.Info("load", "scenario", "trivial", "rps", int(baseline.Rate()), "p50", baseline.P50, "p99", baseline.P99)
	cmd := c.command
	profSecs := max(1, int(c.dur.Seconds())-2)
	feedLike := func(l loadResult) string { return feedGoal(l, baseline) }
	searchLike := func(l loadResult) string { return goal(ms(l.P99) < 20, "p99 < 20 ms") }
	scenarios := []scenario{
		{"getDiscoveryFeed first page", first, feedLike},
		{fmt.Sprintf("getDiscoveryFeed deep pages (%d cursors, 1k-20k deep)", len(deep)), deep, feedLike},
		{fmt.Sprintf("searchTracks (%d queries)", len(searches)), searches, searchLike},
		{fmt.Sprintf("getTracks (%d uris, %d sets)", getTracksURIs, len(lookups)), lookups, feedLike},
		{fmt.Sprintf("getArtistFeed first page (%d tracks)", sm.bigTracks), artistFirst, feedLike},
	}
	if len(artistDeep) > 0 {
		scenarios = append(scenarios, scenario{fmt.Sprintf("getArtistFeed deep pages (%d cursors, 1k-%.1fk deep)", len(artistDeep), float64(10+len(artistDeep))/10), artistDeep, feedLike})
	}
	scenarios = append(scenarios, scenario{"getTrending first page (day, week, month)", trending, feedLike})
	if len(trendingDeep) > 0 {
		scenarios = append(scenarios, scenario{fmt.Sprintf("getTrending deep pages (week, %d cursors)", len(trendingDeep)), trendingDeep, feedLike})
	}
	scenarios = append(scenarios, scenario{fmt.Sprintf("searchArtists (%d queries)", len(artistSearches)), artistSearches, searchLike})
	for _, sc := range scenarios {
		// An endpoint this relay does not answer is said so, not measured
		// as a rate of errors.
		if status, err := probe(ctx, client, sc.urls[0]); err != nil || status != http.StatusOK {
			log.Warn("load: scenario not measured", "scenario", sc.name, "status", status, "err", err)
			r.note("queries", "%s: not measured, its first request answered %d (%v).", sc.name, status, err)
			continue
		}
		var wg sync.WaitGroup
		prof := filepath.Join(c.cache, "profiles", strings.Fields(sc.name)[0]+"-"+fmt.Sprint(len(sc.urls))+".pprof")
		os.MkdirAll(filepath.Dir(prof), 0o755)
		var perr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Second)
			perr = cpuProfile(ctx, p.pprof, profSecs, prof)
		}()
		l := runLoad(ctx, client, sc.urls, c.conc, c.dur)
		wg.Wait()
		log.Info("load", "scenario", sc.name, "rps", int(l.Rate()), "p50", l.P50, "p99", l.P99, "errors", l.Errors)
		if l.Requests == 0 {
			// Every request outlasted the run: no rate or latency to give.
			r.note("queries", "%s: no request finished within %s (%d failed).", sc.name, c.dur, l.Errors)
			continue
		}
		g := sc.goal(l)
		r.add(figure{Section: "queries", Name: sc.name + " rate", Value: l.Rate(), Unit: "req/s", Baseline: baseline.Rate(), BaseName: "trivial handler", Goal: g, Command: cmd})
		r.add(figure{Section: "queries", Name: sc.name + " p50", Value: ms(l.P50), Unit: "ms", Baseline: ms(baseline.P50), BaseName: "trivial handler", Command: cmd})
		r.add(figure{Section: "queries", Name: sc.name + " p99", Value: ms(l.P99), Unit: "ms", Baseline: ms(baseline.P99), BaseName: "trivial handler", Command: cmd})
		if l.Errors > 0 {
			r.note("queries", "%s: %d requests failed or answered non-200.", sc.name, l.Errors)
		}
		if perr != nil {
			r.note("profiles", "%s: no CPU profile: %v", sc.name, perr)
			continue
		}
		top, err := profileTop(ctx, c.relay, prof, 15)
		if err != nil {
			r.note("profiles", "%s: %v", sc.name, err)
			continue
		}
		r.note("profiles", "%s (relay serve CPU profile, %ds under load; `go tool pprof -top %s %s`):\n\n```\n%s\n```", sc.name, profSecs, c.relay, prof, top)
	}
	r.note("queries", "%d concurrent clients for %s per scenario, keep-alive, on loopback; the load generator, relay serve and the trivial handler share the same %d cores. Trivial handler: a Go net/http server in the bench process answering a constant 30-byte JSON, same client.", c.conc, c.dur, numCPU())
	r.note("queries", "Lookups: getTracks asks %d sets of %d at-uris drawn at random from the corpus; getArtistFeed pages the artist with most tracks (%s, %d tracks); getTrending ranks %d play rows of %d tracks over the last %d days (Zipf popularity, written with `sqlite.Store.AddPlays` into the served copy before it starts, so the windows hold them whenever the bench runs); searchArtists asks %d artist names of the corpus, half whole, half their first three letters.",
		len(sm.batches), getTracksURIs, sm.bigArtist, sm.bigTracks, len(sm.plays), sm.playTracks, playDays, len(sm.artistNames))
	return nil
}

// scenario is one load run: its name in the report, the URLs its clients
// ask round-robin, and the goal it is held to.
type scenario struct {
	name string
	urls []string
	goal func(loadResult) string
}

// deepPagesTime bounds the paging that collects deep cursors: a list
// whose pages are slow gives fewer cursors rather than stalling the run.
const deepPagesTime = time.Minute

// deepPages pages pageURL (which asks 100 a page) up to 200 pages, for at
// most deepPagesTime, and returns, for every cursor from the tenth page
// on, measureURL at that cursor: pages 1k to 20k deep. A list that ends
// sooner gives fewer; one whose paging fails (logged) gives those it had.
func deepPages(ctx context.Context, client *http.Client, pageURL, measureURL string) []string {
	deep, err := collectDeep(ctx, client, pageURL, measureURL)
	if err != nil {
		slog.Warn("deep pages: paging stopped", "url", pageURL, "cursors", len(deep), "err", err)
	}
	return deep
}

func collectDeep(ctx context.Context, client *http.Client, pageURL, measureURL string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, deepPagesTime)
	defer cancel()
	var deep []string
	cursor := ""
	for page := 0; page < 200; page++ {
		u := pageURL
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return deep, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return deep, err
		}
		var body struct {
			Cursor string `json:"cursor"`
		}
		status := resp.StatusCode
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if status != http.StatusOK {
			return deep, fmt.Errorf("status %d", status)
		}
		if err != nil {
			return deep, err
		}
		if body.Cursor == "" {
			break
		}
		cursor = body.Cursor
		if page >= 10 {
			deep = append(deep, measureURL+"&cursor="+url.QueryEscape(cursor))
		}
	}
	return deep, nil
}

// probe is the status of one GET of u.
func probe(ctx context.Context, client *http.Client, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func feedGoal(l, baseline loadResult) string {
	share := l.Rate() / baseline.Rate()
	return goal(ms(l.P99) < 5, "p99 < 5 ms") + ", " + goal(share >= 0.30, "rate >= 30% of trivial")
}

func goal(ok bool, what string) string {
	if ok {
		return what + ": met"
	}
	return what + ": MISSED"
}
