package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Tip is one thing to try in the running demo.
type Tip struct {
	What, URL string
}

// Tips are the links the demo prints: the folded search, an artist page,
// a track page and a hostile title. Each names the web UI's page when
// relay serve answers it, and the XRPC query behind it otherwise.
func (d *Demo) Tips(ctx context.Context) []Tip {
	var tips []Tip
	add := func(what, page, xrpc string) {
		u := d.URL + xrpc
		if page != "" && d.answers(ctx, page) {
			u = d.URL + page
		}
		tips = append(tips, Tip{What: what, URL: u})
	}
	add("the discovery feed", "/", "/xrpc/app.relay.feed.getDiscoveryFeed")
	// The search box is the web UI's; its query is the link.
	add(fmt.Sprintf("search: type %q in the search box, accents fold (it finds Björk och Tall)", FoldQuery),
		"", "/xrpc/app.relay.feed.searchTracks?q="+FoldQuery)
	if len(d.Tracks) > 0 && d.Tracks[0].Plays > 0 {
		add("trending: the trending tab (the demo's plays of the past day)", "", "/xrpc/app.relay.feed.getTrending?window=day")
	}
	if len(d.Artists) > 0 {
		a := d.Artists[0]
		add("an artist, "+a.Name, "/artist/"+a.Handle, "/xrpc/app.relay.actor.getArtist?actor="+url.QueryEscape(a.Handle))
	}
	for _, t := range d.Tracks {
		if t.Featured == "" {
			continue
		}
		did, rkey := splitURI(t.URI)
		add(fmt.Sprintf("a track with a featured artist, %s", t.Title),
			"/track/"+did+"/"+rkey, "/xrpc/app.relay.feed.getTracks?uris="+url.QueryEscape(t.URI))
		break
	}
	for _, h := range d.Hostile {
		if h.Reason == "" {
			did, rkey := splitURI(h.URI)
			add("a hostile title, shown as text", "/track/"+did+"/"+rkey, "/xrpc/app.relay.feed.getTracks?uris="+url.QueryEscape(h.URI))
			break
		}
	}
	tips = append(tips, Tip{What: "the rejected records, counted", URL: d.URL + "/metrics (relay_ingest_rejected_total)"})
	return tips
}

// answers reports whether relay serve answers path with 200 and HTML.
func (d *Demo) answers(ctx context.Context, path string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+path, nil)
	if err != nil {
		return false
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")
}

// splitURI is the DID and rkey of at://did/collection/rkey.
func splitURI(uri string) (did, rkey string) {
	parts := strings.Split(strings.TrimPrefix(uri, "at://"), "/")
	if len(parts) != 3 {
		return "", ""
	}
	return parts[0], parts[2]
}
