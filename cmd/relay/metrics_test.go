package main

import (
	dto "github.com/prometheus/client_model/go"

	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const dashboardPath = "../../dashboards/relay.json"

// TestDashboardMetricsExist checks that every metric the Grafana dashboard
// queries is exposed by a freshly started `relay serve` (no upstream, no
// requests served yet): a dashboard panel over a metric that is missing
// from the first scrape shows "No data" instead of zero, and one over a
// renamed metric goes blank for good.
func TestDashboardMetricsExist(t *testing.T) {
	exprs, err := dashboardExprs(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(exprs) == 0 {
		t.Fatalf("%s: no PromQL expressions found", dashboardPath)
	}
	want := map[string][]string{} // metric name -> panels using it
	for _, e := range exprs {
		for _, name := range promqlMetricNames(e.expr) {
			if !slices.Contains(want[name], e.panel) {
				want[name] = append(want[name], e.panel)
			}
		}
	}

	p := startRelay(t, "--data-dir", t.TempDir(), "--jetstream-url", "ws://127.0.0.1:1/subscribe")
	families, err := p.Families()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !exposed(families, n) {
			t.Errorf("dashboard metric %s (panels %q) is not in relay serve's /metrics", n, want[n])
		}
	}
	t.Logf("%d metric names from %d expressions checked", len(names), len(exprs))
}

// TestPromQLMetricNames pins the extractor the dashboard check relies on.
func TestPromQLMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`sum by (kind, operation) (rate(relay_ingest_events_total{job=~"$job"}[$__rate_interval]))`, []string{"relay_ingest_events_total"}},
		{`histogram_quantile(0.99, sum by (method, le) (rate(relay_xrpc_request_duration_seconds_bucket{job="a"}[5m])))`, []string{"relay_xrpc_request_duration_seconds_bucket"}},
		{`sum(a_sum) / sum without (x) (b_count) > 0 and on (job) c offset 5m`, []string{"a_sum", "b_count", "c"}},
		{`max(relay_tracks{state="visible"}) * 1e3 + count_values("v", d{l="sum(x)"})`, []string{"relay_tracks", "d"}},
		{`{__name__="relay_artists"}`, []string{"relay_artists"}},
		{`label_values(relay_tracks, job)`, []string{"relay_tracks"}},
	} {
		if got := promqlMetricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("promqlMetricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
	histogram, counter, gauge := dto.MetricType_HISTOGRAM, dto.MetricType_COUNTER, dto.MetricType_GAUGE
	families := map[string]*dto.MetricFamily{
		"h":       {Type: &histogram},
		"c_count": {Type: &counter},
		"g":       {Type: &gauge},
	}
	for name, want := range map[string]bool{
		"h": true, "h_bucket": true, "h_sum": true, "h_count": true, "g": true,
		"c_count": true, "c": false, "g_sum": false, "missing": false,
	} {
		if got := exposed(families, name); got != want {
			t.Errorf("exposed(%q) = %v, want %v", name, got, want)
		}
	}
}

type dashExpr struct {
	panel, expr string
}

// dashboardExprs returns every PromQL expression of a Grafana dashboard:
// the targets of every panel (rows' nested panels included) and the
// queries of its template variables.
func dashboardExprs(path string) ([]dashExpr, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading dashboard: %w", err)
	}
	type panel struct {
		Title   string            `json:"title"`
		Targets []json.RawMessage `json:"targets"`
		Panels  []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parsing dashboard %s: %w", path, err)
	}
	var out []dashExpr
	var walk func(raw []json.RawMessage) error
	walk = func(raw []json.RawMessage) error {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				return fmt.Errorf("parsing panel: %w", err)
			}
			for _, tr := range p.Targets {
				var tg struct {
					Expr string `json:"expr"`
				}
				if err := json.Unmarshal(tr, &tg); err != nil {
					return fmt.Errorf("parsing target of panel %q: %w", p.Title, err)
				}
				if tg.Expr == "" {
					return fmt.Errorf("panel %q has a target without expr", p.Title)
				}
				out = append(out, dashExpr{p.Title, tg.Expr})
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" || len(v.Query) == 0 {
			continue
		}
		// The query is a string in old dashboards, an object in new ones.
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				return nil, fmt.Errorf("%s: variable %s: parsing query: %w", path, v.Name, err)
			}
			q = obj.Query
		}
		if q != "" {
			out = append(out, dashExpr{"variable " + v.Name, q})
		}
	}
	return out, nil
}

// promqlKeywords are identifiers of PromQL (and Grafana's variable query
// functions) that are not metric names when not followed by "(".
var promqlKeywords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
}

// labelListKeywords take a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

var (
	grafanaVar = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)
	nameMatch  = regexp.MustCompile(`__name__\s*=\s*"([^"]+)"`)
)

// promqlMetricNames returns the metric names a PromQL expression selects,
// in order of first appearance. It is a scanner, not a parser: it skips
// strings, label matchers, ranges, label lists (by, without, on, ...),
// functions, keywords and numbers; what is left are metric names. A
// selector by {__name__="..."} counts too, and Grafana's label_values(m, l)
// yields m.
func promqlMetricNames(expr string) []string {
	expr = grafanaVar.ReplaceAllString(expr, "1")
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	isStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	nextNonSpace := func(i int) int {
		for i < len(expr) && (expr[i] == ' ' || expr[i] == '\t' || expr[i] == '\n' || expr[i] == '\r') {
			i++
		}
		return i
	}
	// skipTo returns the index after the matching close of the open at i.
	skipTo := func(i int, open, close byte) int {
		depth := 0
		for ; i < len(expr); i++ {
			switch c := expr[i]; {
			case c == '"' || c == '\'' || c == '`':
				for i++; i < len(expr) && expr[i] != c; i++ {
					if expr[i] == '\\' && c != '`' {
						i++
					}
				}
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			for i++; i < len(expr) && expr[i] != c; i++ {
				if expr[i] == '\\' && c != '`' {
					i++
				}
			}
			i++
		case c == '{':
			end := skipTo(i, '{', '}')
			if m := nameMatch.FindStringSubmatch(expr[i:end]); m != nil {
				add(m[1])
			}
			i = end
		case c == '[':
			i = skipTo(i, '[', ']')
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isPart(expr[i]) || expr[i] == '.' ||
				(expr[i] == '+' || expr[i] == '-') && (expr[i-1] == 'e' || expr[i-1] == 'E')) {
				i++
			}
		case isStart(c):
			j := i
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			word := expr[i:j]
			k := nextNonSpace(j)
			switch {
			case labelListKeywords[strings.ToLower(word)] && k < len(expr) && expr[k] == '(':
				j = skipTo(k, '(', ')')
			case word == "label_values" && k < len(expr) && expr[k] == '(':
				// label_values(metric, label) or label_values(label).
				args := expr[k+1 : skipTo(k, '(', ')')-1]
				if first, _, ok := strings.Cut(args, ","); ok {
					for _, n := range promqlMetricNames(first) {
						add(n)
					}
				}
				j = skipTo(k, '(', ')')
			case k < len(expr) && expr[k] == '(':
				// a function or an aggregation: its arguments are scanned next
			case promqlKeywords[strings.ToLower(word)]:
			default:
				add(word)
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// exposed reports whether a dashboard's metric name is in the scrape: a
// family of that name, or the _bucket, _sum or _count series of a histogram
// (the _sum or _count of a summary).
func exposed(families map[string]*dto.MetricFamily, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch families[base].GetType() {
		case dto.MetricType_HISTOGRAM:
			return true
		case dto.MetricType_SUMMARY:
			return suffix != "_bucket"
		}
	}
	return false
}
