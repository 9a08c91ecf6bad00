// Command relaybench is relay's benchmark suite (`make bench`): ingest,
// queries over a synthetic corpus served by a real `relay serve`, search
// against SQLite FTS5, and resources. Every figure is paired with a
// baseline measured in the same run. It prints a table and writes
// BENCHMARKS.md.
//
//	go run -tags sqlite_fts5 ./bench/cmd/relaybench -tracks 100000 -relay ./bin/relay
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/relaymusic/relay/bench/corpus"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

type config struct {
	tracks, conc, perKind, ingestEvents int
	seed                                uint64
	relay, out, cache                   string
	dur                                 time.Duration
	skipIngest, prepare                 bool
	command                             string
}

func main() {
	var c config
	flag.IntVar(&c.tracks, "tracks", envInt("BENCH_TRACKS", 1_000_000), "corpus size (BENCH_TRACKS)")
	flag.Uint64Var(&c.seed, "seed", 1, "corpus seed")
	flag.StringVar(&c.relay, "relay", "./bin/relay", "relay binary")
	flag.StringVar(&c.out, "out", "BENCHMARKS.md", "report file")
	flag.StringVar(&c.cache, "cache", ".cache/bench", "corpus cache dir")
	flag.IntVar(&c.conc, "concurrency", 16, "load generator concurrency")
	flag.DurationVar(&c.dur, "duration", 10*time.Second, "duration of each load run")
	flag.IntVar(&c.perKind, "queries", 100, "search queries per kind")
	flag.IntVar(&c.ingestEvents, "ingest-events", 100_000, "events in the ingest benchmark")
	flag.BoolVar(&c.skipIngest, "skip-ingest", false, "do not run BenchmarkIngest")
	flag.BoolVar(&c.prepare, "prepare", false, "only build the corpus into the cache, and measure nothing (a mapping change needs a new one: about 30 min at 1M)")
	flag.Parse()
	c.command = fmt.Sprintf("make bench BENCH_TRACKS=%d", c.tracks)

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		log.Error("bench failed", "err", err)
		os.Exit(1)
	}
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

// figure is one line of the report: a value against its baseline.
type figure struct {
	Section, Name string
	Value         float64
	Unit          string
	Baseline      float64
	BaseName      string
	Goal          string // "" or e.g. "< 5 ms: met"
	Command       string
}

func (f figure) ratio() string {
	if f.BaseName == "" || f.Baseline == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", f.Value/f.Baseline)
}

type report struct {
	cfg     config
	start   time.Time
	figures []figure
	notes   map[string][]string // section -> paragraphs
	started time.Time
}

func (r *report) add(f figure) {
	r.figures = append(r.figures, f)
	slog.Info("figure", "section", f.Section, "name", f.Name, "value", fmtVal(f.Value, f.Unit), "baseline", fmtVal(f.Baseline, f.Unit), "ratio", f.ratio())
}

func (r *report) note(section, format string, args ...any) {
	r.notes[section] = append(r.notes[section], fmt.Sprintf(format, args...))
}

func run(ctx context.Context, c config, log *slog.Logger) error {
	r := &report{cfg: c, start: time.Now(), notes: map[string][]string{}}
	if c.prepare {
		spec := corpus.Spec{Seed: c.seed, Tracks: c.tracks}
		built, err := corpus.Build(ctx, c.cache, spec, log)
		if err != nil {
			return err
		}
		log.Info("corpus ready", "dir", built.DataDir, "cached", built.Cached, "took", time.Since(r.start).Round(time.Second))
		return nil
	}
	if _, err := os.Stat(c.relay); err != nil {
		return fmt.Errorf("relay binary: %w (build it with make build)", err)
	}
	if !c.skipIngest {
		if err := benchIngest(ctx, c, r, log); err != nil {
			return err
		}
	}
	if err := benchCorpus(ctx, c, r, log); err != nil {
		return err
	}
	table := r.table()
	fmt.Println(table)
	if err := os.WriteFile(c.out, []byte(r.markdown(table)), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", c.out, err)
	}
	log.Info("report written", "file", c.out, "took", time.Since(r.start).Round(time.Second))
	return nil
}

var benchLine = regexp.MustCompile(`([0-9.e+]+) (sqlite-events/s|events/s|baseline-events/s|%-of-baseline|peak-RSS-MB)\b`)

// benchIngest runs the existing BenchmarkIngest and carries its figures.
func benchIngest(ctx context.Context, c config, r *report, log *slog.Logger) error {
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkIngest", "-benchtime", "1x", "-timeout", "30m", "./cmd/relay/"}
	cmdline := fmt.Sprintf("RELAY_BENCH_EVENTS=%d go %s", c.ingestEvents, strings.Join(args, " "))
	log.Info("ingest benchmark", "cmd", cmdline)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "RELAY_BENCH_EVENTS="+strconv.Itoa(c.ingestEvents))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("BenchmarkIngest: %w\n%s", err, out)
	}
	vals := map[string]float64{}
	// Only the result line: the b.Logf line after it says "events/s" too.
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "BenchmarkIngest") {
			continue
		}
		for _, m := range benchLine.FindAllStringSubmatch(line, -1) {
			v, _ := strconv.ParseFloat(m[1], 64)
			vals[m[2]] = v
		}
	}
	if vals["events/s"] == 0 || vals["baseline-events/s"] == 0 {
		return fmt.Errorf("BenchmarkIngest: no figures in its output:\n%s", out)
	}
	r.add(figure{Section: "ingest", Name: "jetstream replay, searchable", Value: vals["events/s"], Unit: "events/s",
		Baseline: vals["baseline-events/s"], BaseName: "decode-only", Command: cmdline})
	r.add(figure{Section: "ingest", Name: "jetstream replay, in SQLite", Value: vals["sqlite-events/s"], Unit: "events/s",
		Baseline: vals["baseline-events/s"], BaseName: "decode-only", Command: cmdline})
	r.note("ingest", "%d events (the `jetstreamtest` generator: creates, updates, deletes, identity and account events, 1%% malformed) over a loopback websocket into a real `relay serve`; peak RSS %.0f MB. The baseline reads the same frames off the same kind of socket and only decodes them.",
		c.ingestEvents, vals["peak-RSS-MB"])
	return nil
}

func fmtVal(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.2f ms", v)
	case "bytes":
		return fmt.Sprintf("%.0f B", v)
	case "MB":
		return fmt.Sprintf("%.0f MB", v)
	case "s":
		return fmt.Sprintf("%.2f s", v)
	case "%":
		return fmt.Sprintf("%.0f%%", v)
	default:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
}

func (r *report) table() string {
	rows := [][]string{{"section", "figure", "value", "baseline", "", "ratio", "goal"}}
	for _, f := range r.figures {
		base := "-"
		if f.BaseName != "" {
			base = fmtVal(f.Baseline, f.Unit)
		}
		rows = append(rows, []string{f.Section, f.Name, fmtVal(f.Value, f.Unit), base, f.BaseName, f.ratio(), f.Goal})
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			pad := width[i] - len([]rune(cell))
			if i == 2 || i == 3 || i == 5 { // numbers right-aligned
				b.WriteString(strings.Repeat(" ", pad) + cell)
			} else {
				b.WriteString(cell + strings.Repeat(" ", pad))
			}
			if i < len(row)-1 {
				b.WriteString("  ")
			}
		}
		b.WriteString("\n")
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

func machine() string {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	nproc := runtime.NumCPU()
	if out, err := exec.Command("nproc").Output(); err == nil {
		nproc, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	}
	return fmt.Sprintf("nproc %d, %s, %s RAM, %s/%s, %s", nproc, cpu, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func cacheKeyDir(c config, key string) string { return filepath.Join(c.cache, key) }

func numCPU() int { return runtime.NumCPU() }

// markdown renders BENCHMARKS.md.
func (r *report) markdown(table string) string {
	var b strings.Builder
	c := r.cfg
	fmt.Fprintf(&b, "# benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `%s` (bench/cmd/relaybench) on %s.\n\n", c.command, r.start.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "## machine\n\n%s\n\n", machine())
	fmt.Fprintf(&b, "## how to read this\n\nEvery figure is paired with a baseline measured in the same run; ratio = value / baseline. Corpus: %d synthetic tracks from seed %d (`bench/corpus`: titles, artists and albums in English, Latin with diacritics, Cyrillic, Japanese and Greek; Zipf-distributed artists and title words; genres, tags), loaded through `sqlite.Store.ApplyBatch` in batches of %d and indexed as `relay reindex` does (`datadir`, `search.RebuildFrom`), cached in `%s`.\n\n", c.tracks, c.seed, 5000, c.cache)
	fmt.Fprintf(&b, "## figures\n\n```\n%s\n```\n\n", table)
	fmt.Fprintf(&b, "Commands:\n\n")
	seen := map[string]bool{}
	for _, f := range r.figures {
		if !seen[f.Command] {
			seen[f.Command] = true
			var names []string
			for _, g := range r.figures {
				if g.Command == f.Command && !slices.Contains(names, g.Section) {
					names = append(names, g.Section)
				}
			}
			fmt.Fprintf(&b, "- `%s`: %s\n", f.Command, strings.Join(names, ", "))
		}
	}
	b.WriteString("\n")
	// The hand-written findings (what limits each figure) travel with the
	// figures they explain.
	if f, err := os.ReadFile(filepath.Join("bench", "findings.md")); err == nil {
		b.Write(f)
		b.WriteString("\n")
	}
	for _, s := range []string{"ingest", "corpus", "queries", "search vs FTS5", "resources", "profiles"} {
		if len(r.notes[s]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", s)
		for _, n := range r.notes[s] {
			b.WriteString(n + "\n\n")
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}
