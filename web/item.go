package web

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/appview"
	"github.com/relaymusic/relay/validate"
)

// item is a track as the templates show it: text as given (html/template
// escapes it), paths built here, and URLs only those validate.IsMediaURL
// lets through.
type item struct {
	DID, RKey            string
	Title, Artist, Album string
	ArtistHref           string
	Handle               string
	Duration             string // m:ss, "" when unknown
	When, WhenISO        string // relative, and the datetime it is of
	Image                string
	Audio                string // the record's audio URL, for share tags
	FileType             string
	Genre                string
	Tags                 []string
	Features             []feature
	Href, Play, Embed    string // this service's paths
	Playable             bool
}

type feature struct{ Name, Href string }

// newItem builds the item of a view; now is when the page is rendered
// (relative dates).
func newItem(v appview.TrackView, now time.Time) item {
	it := item{
		DID: v.DID, Title: v.Title, Artist: v.Artist, Album: v.Album, Handle: v.Handle,
		Genre: v.Genre, Tags: v.Tags, FileType: v.FileType,
		Image: mediaURL(v.ImageURL), Audio: mediaURL(v.AudioURL),
		ArtistHref: artistPath(v.DID, v.Handle),
	}
	if uri, err := syntax.ParseATURI(v.URI); err == nil {
		it.RKey = uri.RecordKey().String()
	}
	tp := url.PathEscape(it.DID) + "/" + url.PathEscape(it.RKey)
	it.Href, it.Play, it.Embed = "/track/"+tp, "/play/"+tp, "/embed/track/"+tp
	// Only a track whose audio passes the rule is offered to play: /play
	// redirects to that URL.
	it.Playable = it.Audio != "" && it.RKey != ""
	if v.Duration != nil {
		it.Duration = duration(*v.Duration)
	}
	if at, ok := sortAt(v); ok {
		it.When, it.WhenISO = relative(at, now), at.UTC().Format(time.RFC3339)
	}
	for _, f := range v.FeaturedArtists {
		name := f.DisplayName
		if name == "" {
			name = f.Handle
		}
		if name == "" {
			name = f.DID
		}
		it.Features = append(it.Features, feature{Name: name, Href: artistPath(f.DID, f.Handle)})
	}
	return it
}

func items(vs []appview.TrackView, now time.Time) []item {
	out := make([]item, 0, len(vs))
	for _, v := range vs {
		out = append(out, newItem(v, now))
	}
	return out
}

func artistPath(did, handle string) string {
	if handle != "" {
		return "/artist/" + url.PathEscape(handle)
	}
	return "/artist/" + url.PathEscape(did)
}

// mediaURL is raw when it may reach a src or an href, else "".
func mediaURL(raw string) string {
	if validate.IsMediaURL(raw) {
		return raw
	}
	return ""
}

// sortAt is min(createdAt, indexedAt), the time the feed orders by.
func sortAt(v appview.TrackView) (time.Time, bool) {
	c, err1 := time.Parse(time.RFC3339, v.CreatedAt)
	i, err2 := time.Parse(time.RFC3339, v.IndexedAt)
	switch {
	case err1 == nil && err2 == nil:
		if i.Before(c) {
			return i, true
		}
		return c, true
	case err2 == nil:
		return i, true
	case err1 == nil:
		return c, true
	}
	return time.Time{}, false
}

// duration is seconds as m:ss (h:mm:ss past an hour).
func duration(s int64) string {
	if s < 0 {
		return ""
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// relative is t as "3 days ago", in relay's lowercase voice.
func relative(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int64(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int64(d/time.Hour), "hour") + " ago"
	case d < 14*24*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day") + " ago"
	case d < 60*24*time.Hour:
		return plural(int64(d/(7*24*time.Hour)), "week") + " ago"
	case d < 365*24*time.Hour:
		return plural(int64(d/(30*24*time.Hour)), "month") + " ago"
	}
	return plural(int64(d/(365*24*time.Hour)), "year") + " ago"
}

var funcs = template.FuncMap{
	"asset": assetURL,
}

// timeNow is time.Now, the clock relative dates are measured against.
var timeNow = time.Now

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func queryEscape(s string) string { return url.QueryEscape(s) }

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return itoa(n) + " " + unit + "s"
}
