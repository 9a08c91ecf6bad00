package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// metaContent is the content of <meta property|name="key">, "" if absent.
func metaContent(html, key string) string {
	re := regexp.MustCompile(`<meta (?:property|name)="` + regexp.QuoteMeta(key) + `" content="([^"]*)">`)
	m := re.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestPages(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	tr := e.add(trackSpec{did: nova, title: "share me", artist: "nova", album: "tidelines", image: e.art(1), duration: 75})[0]
	trackPath := "/track/" + tr.DID.String() + "/" + tr.RKey.String()
	cases := []struct {
		name, path string
		status     int
		want       []string
	}{
		{"feed", "/", 200, []string{"glass harbour", "paper moons", "load more", "trending"}},
		{"artist by handle", "/artist/nova.example.com", 200, []string{"nova.example.com", "tidelines", "singles", "salt in the wires", "harbour lights (demo)", `property="og:title"`}},
		{"artist by did", "/artist/" + lantern.String(), 200, []string{"night market", "café au lait"}},
		{"track", trackPath, 200, []string{"share me", "tidelines", "1:15", `href="/artist/nova.example.com"`, "more by", "glass harbour"}},
		{"embed", "/embed/track/" + tr.DID.String() + "/" + tr.RKey.String(), 200, []string{"share me", `<audio controls preload="none" src="/play/`}},
		{"unknown artist", "/artist/nobody.example.com", 404, []string{"no such artist"}},
		{"not an actor", "/artist/%20%3Cx%3E", 404, []string{"no such artist"}},
		{"unknown track", "/track/" + nova.String() + "/3lbbbbbbbbbb2", 404, []string{"no such track"}},
		{"bad did", "/track/nobody/3lbbbbbbbbbb2", 404, []string{"no such track"}},
		{"unknown embed", "/embed/track/" + nova.String() + "/3lbbbbbbbbbb2", 404, []string{"no such track"}},
		{"bad cursor", "/?cursor=zzz", 400, []string{"not one relay made"}},
		{"unknown path", "/nope", 404, []string{"nothing here"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, e.srv.URL+c.path)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}

func TestShareTags(t *testing.T) {
	e := newEnv(t)
	e.handle(nova, "nova.example.com")
	tr := e.add(trackSpec{did: nova, title: "share me", artist: "nova", album: "tidelines", image: e.art(1), duration: 75})[0]
	self := e.srv.URL + "/track/" + tr.DID.String() + "/" + tr.RKey.String()
	_, body := get(t, self)
	want := map[string]string{
		"og:type":              "music.song",
		"og:title":             "share me",
		"og:description":       "nova · tidelines",
		"og:url":               self,
		"og:image":             e.art(1),
		"og:audio":             tr.AudioURL,
		"og:audio:type":        "audio/wav",
		"music:musician":       e.srv.URL + "/artist/nova.example.com",
		"music:duration":       "75",
		"twitter:card":         "player",
		"twitter:player":       e.srv.URL + "/embed/track/" + tr.DID.String() + "/" + tr.RKey.String(),
		"twitter:image":        e.art(1),
		"twitter:title":        "share me",
		"og:site_name":         "relay",
		"twitter:player:width": "480",
	}
	for k, v := range want {
		if got := metaContent(body, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(body, `type="application/json+oembed" href="`+e.srv.URL+"/oembed?format=json&amp;url="+url.QueryEscape(self)) {
		t.Error("no oembed discovery link")
	}
	_, body = get(t, e.srv.URL+"/artist/nova.example.com")
	for k, v := range map[string]string{"og:type": "profile", "og:title": "nova.example.com", "og:url": e.srv.URL + "/artist/nova.example.com", "og:image": e.art(1), "twitter:card": "summary"} {
		if got := metaContent(body, k); got != v {
			t.Errorf("artist %s = %q, want %q", k, got, v)
		}
	}
}

// TestHostileRecords: record text is escaped, and only https or
// same-origin URLs reach the page, whatever the stored row holds.
func TestHostileRecords(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	for _, path := range []string{"/", "/artist/" + mallory.String()} {
		_, body := get(t, e.srv.URL+path)
		for _, bad := range []string{"<img src=x", "<script>alert", "javascript:", "http://127.0.0.1:9", "onerror=alert(1)>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s carries %q", path, bad)
			}
		}
		if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") || !strings.Contains(body, "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the hostile titles as text", path)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	tr := e.add(trackSpec{did: nova, title: "t", artist: "a"})[0]
	tp := tr.DID.String() + "/" + tr.RKey.String()
	cases := []struct {
		path  string
		embed bool
	}{
		{"/", false}, {"/track/" + tp, false}, {"/artist/" + nova.String(), false}, {"/nope", false},
		{"/oembed?url=x", false}, {assetURL("app.js"), false}, {"/embed/track/" + tp, true},
	}
	for _, c := range cases {
		resp, _ := get(t, e.srv.URL+c.path)
		h := resp.Header
		p := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "style-src 'self'", "img-src 'self' https:", "media-src 'self' https:", "base-uri 'none'"} {
			if !strings.Contains(p, d) {
				t.Errorf("%s: CSP %q lacks %q", c.path, p, d)
			}
		}
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "data:", "http:"} {
			if strings.Contains(p, bad) {
				t.Errorf("%s: CSP allows %s", c.path, bad)
			}
		}
		if c.embed {
			if !strings.Contains(p, "frame-ancestors *") || !strings.Contains(p, "script-src 'none'") || h.Get("X-Frame-Options") != "" {
				t.Errorf("%s: embed framing headers %q, X-Frame-Options %q", c.path, p, h.Get("X-Frame-Options"))
			}
		} else if !strings.Contains(p, "script-src 'self';") || !strings.Contains(p, "frame-ancestors 'none'") || !strings.Contains(p, "form-action 'self'") || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q, X-Frame-Options %q", c.path, p, h.Get("X-Frame-Options"))
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: nosniff %q, referrer %q", c.path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
}

// TestNoInlineScript: the pages carry no inline script, style or handler
// attribute (read as a browser's tokenizer reads them), so the CSP never
// has to allow one.
func TestNoInlineScript(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	tr := e.add(trackSpec{did: nova, title: "t", artist: "a"})[0]
	for _, path := range []string{"/", "/artist/" + nova.String(), "/artist/" + mallory.String(), "/track/" + tr.DID.String() + "/" + tr.RKey.String(), "/embed/track/" + tr.DID.String() + "/" + tr.RKey.String(), "/nope"} {
		_, body := get(t, e.srv.URL+path)
		z := html.NewTokenizer(strings.NewReader(body))
		scripts := 0
		for inScript := false; ; {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			tok := z.Token()
			switch {
			case tt == html.TextToken && inScript && strings.TrimSpace(tok.Data) != "":
				t.Errorf("%s: inline script %q", path, tok.Data)
			case tt == html.StartTagToken || tt == html.SelfClosingTagToken:
				inScript = tok.Data == "script"
				if tok.Data == "style" {
					t.Errorf("%s: a style element", path)
				}
				for _, a := range tok.Attr {
					if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
						t.Errorf("%s: <%s %s=%q>", path, tok.Data, a.Key, a.Val)
					}
					if inScript && a.Key == "src" {
						scripts++
						if a.Val != assetURL("app.js") {
							t.Errorf("%s: script from %q", path, a.Val)
						}
					}
				}
			case tt == html.EndTagToken:
				inScript = false
			}
		}
		if want := map[bool]int{true: 0, false: 1}[strings.HasPrefix(path, "/embed/")]; scripts != want {
			t.Errorf("%s: %d scripts, want %d", path, scripts, want)
		}
	}
}

func TestOEmbed(t *testing.T) {
	e := newEnv(t)
	e.handle(nova, "nova.example.com")
	tr := e.add(trackSpec{did: nova, title: `quote " and <tag>`, artist: "nova", image: e.art(1)})[0]
	link := e.srv.URL + "/track/" + tr.DID.String() + "/" + tr.RKey.String()
	cases := []struct {
		name, query string
		status      int
	}{
		{"json", "url=" + url.QueryEscape(link) + "&format=json", 200},
		{"no format", "url=" + url.QueryEscape(link), 200},
		{"xml", "url=" + url.QueryEscape(link) + "&format=xml", 501},
		{"foreign host", "url=" + url.QueryEscape("https://elsewhere.example/track/"+tr.DID.String()+"/"+tr.RKey.String()), 404},
		{"not a track link", "url=" + url.QueryEscape(e.srv.URL+"/artist/nova.example.com"), 404},
		{"unknown track", "url=" + url.QueryEscape(e.srv.URL+"/track/"+nova.String()+"/3lbbbbbbbbbb2"), 404},
		{"javascript", "url=" + url.QueryEscape("javascript:alert(1)"), 404},
		{"too long", "url=" + url.QueryEscape(link+"?"+strings.Repeat("a", maxOEmbedURL)), 404},
		{"no url", "", 404},
	}
	for _, c := range cases {
		resp, body := get(t, e.srv.URL+"/oembed?"+c.query)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.status, body)
			continue
		}
		if c.status != 200 {
			continue
		}
		var o oembedAnswer
		if err := json.Unmarshal([]byte(body), &o); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		embed := e.srv.URL + "/embed/track/" + tr.DID.String() + "/" + tr.RKey.String()
		if o.Version != "1.0" || o.Type != "rich" || o.ProviderName != "relay" || o.Title != tr.Title || o.AuthorName != "nova" ||
			o.AuthorURL != e.srv.URL+"/artist/nova.example.com" || o.Width != embedWidth || o.Height != embedHeight || o.ThumbnailURL != e.art(1) {
			t.Errorf("%s: answer %+v", c.name, o)
		}
		if !strings.HasPrefix(o.HTML, `<iframe src="`+embed+`" width="480" height="152" title="quote &#34; and &lt;tag&gt; by nova"`) {
			t.Errorf("%s: html %s", c.name, o.HTML)
		}
	}
	// maxwidth and maxheight shrink the player, never grow it.
	_, body := get(t, e.srv.URL+"/oembed?maxwidth=300&maxheight=9999&url="+url.QueryEscape(link))
	var o oembedAnswer
	if err := json.Unmarshal([]byte(body), &o); err != nil || o.Width != 300 || o.Height != embedHeight {
		t.Errorf("maxwidth: %+v %v", o, err)
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"app.js", "style.css", "icon.svg"} {
		u := e.srv.URL + assetURL(name)
		resp, body := get(t, u)
		if resp.StatusCode != 200 || body == "" {
			t.Fatalf("%s: %d", name, resp.StatusCode)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: cache-control %q", name, cc)
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s: revalidation %d", name, r2.StatusCode)
		}
	}
	if resp, _ := get(t, e.srv.URL+"/static/app.js"); resp.StatusCode != 404 {
		t.Errorf("unhashed name served: %d", resp.StatusCode)
	}
	if !strings.HasPrefix(assetURL("app.js"), "/static/app.") || !strings.HasSuffix(assetURL("app.js"), ".js") {
		t.Errorf("asset name %q", assetURL("app.js"))
	}
}

// TestMounting: the UI is at /, the plain-text help still at /xrpc/, and
// methods other than GET and HEAD are refused.
func TestMounting(t *testing.T) {
	e := newEnv(t)
	resp, body := get(t, e.srv.URL+"/xrpc/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, "getDiscoveryFeed") {
		t.Errorf("/xrpc/ help: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, e.srv.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, "no tracks yet") {
		t.Errorf("empty feed: %d", resp.StatusCode)
	}
	get(t, e.srv.URL+"/nope")
	// Pages are counted with the XRPC queries, as method "web".
	_, metrics := get(t, e.srv.URL+"/metrics")
	for _, series := range []string{`relay_xrpc_requests_total{method="web",status="200"} 1`, `relay_xrpc_requests_total{method="web",status="404"} 1`} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	r, err := http.Post(e.srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /: %d", r.StatusCode)
	}
}

func TestFormat(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	rel := []struct {
		ago  time.Duration
		want string
	}{
		{-time.Hour, "just now"}, {10 * time.Second, "just now"}, {time.Minute, "1 minute ago"},
		{59 * time.Minute, "59 minutes ago"}, {3 * time.Hour, "3 hours ago"}, {36 * time.Hour, "1 day ago"},
		{13 * 24 * time.Hour, "13 days ago"}, {20 * 24 * time.Hour, "2 weeks ago"}, {90 * 24 * time.Hour, "3 months ago"},
		{800 * 24 * time.Hour, "2 years ago"},
	}
	for _, c := range rel {
		if got := relative(now.Add(-c.ago), now); got != c.want {
			t.Errorf("relative(%v) = %q, want %q", c.ago, got, c.want)
		}
	}
	dur := []struct {
		s    int64
		want string
	}{{0, "0:00"}, {5, "0:05"}, {65, "1:05"}, {600, "10:00"}, {3725, "1:02:05"}, {-1, ""}}
	for _, c := range dur {
		if got := duration(c.s); got != c.want {
			t.Errorf("duration(%d) = %q, want %q", c.s, got, c.want)
		}
	}
}

// TestPublicURL: with --public-url, share tags and oEmbed name that
// origin, whatever host the request came to.
func TestPublicURL(t *testing.T) {
	const public = "https://relay.example.com"
	e := newEnvAt(t, public)
	e.handle(nova, "nova.example.com")
	tr := e.add(trackSpec{did: nova, title: "t", artist: "nova"})[0]
	tp := "/track/" + tr.DID.String() + "/" + tr.RKey.String()
	_, body := get(t, e.srv.URL+tp)
	if got := metaContent(body, "og:url"); got != public+tp {
		t.Errorf("og:url %q", got)
	}
	if got := metaContent(body, "twitter:player"); got != public+"/embed"+tp {
		t.Errorf("twitter:player %q", got)
	}
	resp, body := get(t, e.srv.URL+"/oembed?url="+url.QueryEscape(public+tp))
	if resp.StatusCode != 200 || !strings.Contains(body, `"provider_url":"`+public+`/"`) {
		t.Errorf("oembed of the public link: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, e.srv.URL+"/oembed?url="+url.QueryEscape(e.srv.URL+tp)); resp.StatusCode != 404 {
		t.Errorf("oembed of a link to another origin: %d", resp.StatusCode)
	}
}

// FuzzTrackLink: oEmbed's url parameter, from anyone, never panics the
// parser, and a link it takes names a valid DID and record key on this
// origin's host.
func FuzzTrackLink(f *testing.F) {
	const origin = "https://relay.example.com"
	for _, s := range []string{
		origin + "/track/did:plc:novaxxxxxxxxxxxxxxxxxxxx/3lbbbbbbbbbb2", "http://relay.example.com/track/did:web:a.b/x",
		"javascript:alert(1)", origin + "/track//", origin + "/track/a/b/c", "//relay.example.com/track/did:plc:a/b", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		did, rkey, ok := trackLink(raw, origin)
		if !ok {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !strings.EqualFold(u.Host, "relay.example.com") || did.String() == "" || rkey.String() == "" || len(raw) > maxOEmbedURL {
			t.Fatalf("took %q: %q %q", raw, did, rkey)
		}
	})
}
