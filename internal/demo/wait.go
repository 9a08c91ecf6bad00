package demo

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FoldQuery is the search the demo suggests: accents folded, it finds
// "Björk och Tall".
const FoldQuery = "bjork"

// waitServed polls relay serve until the catalogue is there: every track
// and every indexed hostile record in the discovery feed, the folded
// search answering, every artist found by handle, and each rejected
// hostile record counted under its reason.
func (d *Demo) waitServed(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		ok, why, err := d.served(ctx)
		if err == nil && ok {
			return nil
		}
		if err != nil {
			why = err.Error()
		}
		last = why
		if d.relay.exited() {
			return fmt.Errorf("demo: relay serve exited; %s:\n%s", d.RelayLog, tailFile(d.RelayLog, 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the catalogue was not served within %s (%s); relay log %s", timeout, last, d.RelayLog)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *Demo) served(ctx context.Context) (bool, string, error) {
	feed, err := d.Feed(ctx)
	if err != nil {
		return false, "", err
	}
	in := map[string]bool{}
	views := map[string]TrackView{}
	for _, v := range feed {
		in[v.URI] = true
		views[v.URI] = v
	}
	for _, t := range d.Tracks {
		if !in[t.URI] {
			return false, "track " + t.Title + " not in the feed yet", nil
		}
		// A featured artist's handle is hydrated from what the store
		// knows of that account, which can come a moment after the track
		// (and the feed's first page is cached for a second).
		if v := views[t.URI]; t.Featured != "" && (len(v.FeaturedArtists) != 1 || v.FeaturedArtists[0].Handle != t.Featured) {
			return false, "track " + t.Title + "'s featured artist has no handle yet", nil
		}
	}
	for _, h := range d.Hostile {
		if h.Reason == "" && !in[h.URI] {
			return false, "hostile record " + h.What + " not in the feed yet", nil
		}
	}
	var s SearchResponse
	if err := d.GetJSON(ctx, "/xrpc/app.relay.feed.searchTracks?q="+url.QueryEscape(FoldQuery), &s); err != nil {
		return false, "", err
	}
	if len(s.Tracks) == 0 {
		return false, "search " + FoldQuery + " finds nothing yet", nil
	}
	for _, a := range d.Artists {
		var v struct {
			Handle string `json:"handle"`
		}
		if err := d.GetJSON(ctx, "/xrpc/app.relay.actor.getArtist?actor="+url.QueryEscape(a.Handle), &v); err != nil {
			return false, "artist " + a.Handle + ": " + err.Error(), nil
		}
	}
	counts, err := d.Rejected(ctx)
	if err != nil {
		return false, "", err
	}
	for _, h := range d.Hostile {
		if h.Reason != "" && counts[h.Reason] < 1 {
			return false, "no " + h.Reason + " rejection counted yet", nil
		}
	}
	return true, "", nil
}

// TrackView is the part of relay's trackView the demo and its test read.
type TrackView struct {
	URI      string `json:"uri"`
	DID      string `json:"did"`
	Handle   string `json:"handle"`
	Title    string `json:"title"`
	Artist   string `json:"artist"`
	Album    string `json:"album"`
	Genre    string `json:"genre"`
	AudioURL string `json:"audioUrl"`
	ImageURL string `json:"imageUrl"`
	Features []struct {
		DID string `json:"did"`
	} `json:"features"`
	FeaturedArtists []struct {
		DID    string `json:"did"`
		Handle string `json:"handle"`
	} `json:"featuredArtists"`
	Record json.RawMessage `json:"record"`
}

// SearchResponse is searchTracks' answer.
type SearchResponse struct {
	Tracks    []TrackView `json:"tracks"`
	HitsTotal int         `json:"hitsTotal"`
}

// Feed is the whole discovery feed, page by page.
func (d *Demo) Feed(ctx context.Context) ([]TrackView, error) {
	var all []TrackView
	cursor := ""
	for range 100 {
		var page struct {
			Feed   []TrackView `json:"feed"`
			Cursor string      `json:"cursor"`
		}
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := d.GetJSON(ctx, "/xrpc/app.relay.feed.getDiscoveryFeed?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Feed...)
		if page.Cursor == "" || len(page.Feed) == 0 {
			return all, nil
		}
		cursor = page.Cursor
	}
	return nil, fmt.Errorf("demo: discovery feed: more than 100 pages")
}

// GetJSON GETs path from relay serve and decodes a 200 answer into out.
func (d *Demo) GetJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+path, nil)
	if err != nil {
		return fmt.Errorf("demo: GET %s: %w", path, err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("demo: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("demo: GET %s: HTTP %d: %.200s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("demo: GET %s: decode: %w", path, err)
	}
	return nil
}

// Rejected reads relay_ingest_rejected_total from /metrics, by reason.
func (d *Demo) Rejected(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("demo: metrics: %w", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("demo: metrics: %w", err)
	}
	defer resp.Body.Close()
	const prefix = `relay_ingest_rejected_total{reason="`
	counts := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		reason, value, ok := strings.Cut(line, `"} `)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("demo: metrics: %s: %w", sc.Text(), err)
		}
		counts[reason] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("demo: metrics: %w", err)
	}
	return counts, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}
