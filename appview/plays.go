package appview

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/plays"
	"github.com/relaymusic/relay/validate"
)

// PlayCounter counts plays (plays.Counter): Play reports whether the
// client's play of the track counted (once per listener and track per 30
// minutes) without waiting on the store; UnknownTrack counts a play asked
// of a track not shown.
type PlayCounter interface {
	Play(client netip.Addr, did syntax.DID, collection syntax.NSID, rkey syntax.RecordKey) bool
	UnknownTrack()
}

// handlePlay: GET /play/{did}/{rkey}. The web UI's player plays through
// it: the play is counted, and the answer is a 302 to the track's audio.
// HEAD answers the same without counting. Only a track shown here, with
// audio validate.IsMediaURL accepts, is played; anything else is 404.
func (s *Server) handlePlay(w http.ResponseWriter, r *http.Request) {
	// A redirect cached by a browser or a proxy would play uncounted, and
	// the audio host need not learn which page the listener was on.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	did, err := syntax.ParseDID(r.PathValue("did"))
	if err != nil {
		writeError(w, r, s.log, invalidRequest("not a track: the path is /play/{did}/{rkey}"))
		return
	}
	rkey, err := syntax.ParseRecordKey(r.PathValue("rkey"))
	if err != nil {
		writeError(w, r, s.log, invalidRequest("not a track: the path is /play/{did}/{rkey}"))
		return
	}
	counting := r.Method == http.MethodGet && s.plays != nil
	rows, err := s.store.Tracks(r.Context(), []syntax.ATURI{relay.TrackURI(did, relay.TrackCollection, rkey)})
	switch {
	case err != nil && r.Context().Err() != nil && errors.Is(err, context.Canceled):
		return // the client went away
	case err != nil:
		writeError(w, r, s.log, err)
		return
	// A track whose audio the checker found gone is not played, as it is
	// not listed: a direct link shows it (getTracks), /play does not.
	case len(rows) == 0 || !validate.IsMediaURL(rows[0].AudioURL) || rows[0].AudioStatus == relay.AudioMissing:
		if counting {
			s.plays.UnknownTrack()
		}
		writeError(w, r, s.log, notFound("no playable track %s/%s here", did, rkey))
		return
	}
	// A browser navigating here (a link followed, not the player's audio
	// element) is sent to the track's page, not the record's URL: /play
	// on this origin must not serve as a redirect to wherever a record
	// points. Nothing is counted for it.
	if r.Header.Get("Sec-Fetch-Dest") == "document" {
		w.Header().Set("Location", "/track/"+did.String()+"/"+rkey.String())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	if counting {
		client, _ := s.proxies.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
		s.plays.Play(client, did, relay.TrackCollection, rkey)
	}
	// Location set directly: http.Redirect would add an HTML body naming
	// the URL, of no use to a player.
	w.Header().Set("Location", rows[0].AudioURL)
	w.WriteHeader(http.StatusFound)
}

// trendingWindows are getTrending's windows, in hours.
var trendingWindows = map[string]int64{"day": 24, "week": 24 * 7, "month": 24 * 30}

// trendingParams are getTrending's parameters: the window, the hour the
// first page was asked in (plays.OpenHour then), and the position after
// which the page starts (nil: the top).
type trendingParams struct {
	window string
	open   int64
	after  *relay.TrendingKey
	limit  int
}

// parseTrendingParams reads getTrending's parameters at now.
func parseTrendingParams(q url.Values, now time.Time) (trendingParams, error) {
	limit, err := limitParam(q)
	if err != nil {
		return trendingParams{}, err
	}
	p := trendingParams{window: q.Get("window"), open: plays.OpenHour(now), limit: limit}
	if p.window == "" {
		p.window = "week"
	}
	if _, ok := trendingWindows[p.window]; !ok {
		return trendingParams{}, invalidRequest("window must be day, week or month, got %q", truncate(p.window))
	}
	if c := q.Get("cursor"); c != "" {
		window, open, k, err := decodeTrendingCursor(c)
		if err != nil {
			return trendingParams{}, err
		}
		if window != p.window {
			return trendingParams{}, invalidRequest("cursor is of the %s window, not %s", window, p.window)
		}
		if open > p.open {
			return trendingParams{}, invalidRequest("cursor is not one this feed returned")
		}
		// A ranking is kept for the hour in progress and the one before
		// (trendingCache); an older cursor would make one per hour it
		// names, so it has expired.
		if open < p.open-1 {
			return trendingParams{}, invalidRequest("cursor has expired: trending moved on; start again from the top")
		}
		p.open, p.after = open, &k
	}
	return p, nil
}

// getTrending: app.relay.feed.getTrending. Tracks ranked by the listeners
// they had in the window's whole hours before the one the first page was
// asked in (plays.OpenHour): those hours never change, and the cursor pins
// them, so pages never repeat or skip. The hour in progress shows from a
// minute past its end on.
func (s *Server) getTrending(ctx context.Context, r *http.Request) (any, error) {
	p, err := parseTrendingParams(r.URL.Query(), time.Now())
	if err != nil {
		return nil, err
	}
	rows, err := s.trendingPage(ctx, p)
	if err != nil {
		return nil, err
	}
	tracks := make([]*relay.StoredTrack, len(rows))
	for i, t := range rows {
		tracks[i] = &t.StoredTrack
	}
	views, err := s.views(ctx, tracks)
	if err != nil {
		return nil, err
	}
	out := struct {
		Cursor string      `json:"cursor,omitempty"`
		Feed   []TrackView `json:"feed"`
	}{Feed: views}
	if len(rows) == p.limit {
		out.Cursor = encodeTrendingCursor(p.window, p.open, rows[len(rows)-1].TrendingKey())
	}
	return out, nil
}

// The trending cursor, opaque to clients: base64url of "window openHour
// plays sortAt rkey did collection".
func encodeTrendingCursor(window string, open int64, k relay.TrendingKey) string {
	raw := strings.Join([]string{window, strconv.FormatInt(open, 10), strconv.FormatInt(k.Plays, 10),
		strconv.FormatInt(k.Feed.SortAt, 10), k.Feed.RKey.String(), k.Feed.DID.String(), k.Feed.Collection.String()}, " ")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// maxCursorBytes bounds a cursor decoded: a DID is at most 2 KiB.
const maxCursorBytes = 4096

func decodeTrendingCursor(c string) (window string, open int64, k relay.TrendingKey, err error) {
	bad := invalidRequest("cursor is not one this feed returned")
	if len(c) > maxCursorBytes {
		return "", 0, k, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", 0, k, bad
	}
	parts := strings.Split(string(raw), " ")
	if len(parts) != 7 {
		return "", 0, k, bad
	}
	window = parts[0]
	if _, ok := trendingWindows[window]; !ok {
		return "", 0, k, bad
	}
	var nums [3]int64
	for i := range nums {
		if nums[i], err = strconv.ParseInt(parts[1+i], 10, 64); err != nil || nums[i] < 0 {
			return "", 0, k, bad
		}
	}
	rkey, err := syntax.ParseRecordKey(parts[4])
	if err != nil {
		return "", 0, k, bad
	}
	did, err := syntax.ParseDID(parts[5])
	if err != nil {
		return "", 0, k, bad
	}
	coll, err := syntax.ParseNSID(parts[6])
	if err != nil {
		return "", 0, k, bad
	}
	k = relay.TrendingKey{Plays: nums[1], Feed: relay.FeedKey{SortAt: nums[2], DID: did, Collection: coll, RKey: rkey}}
	return window, nums[0], k, nil
}
