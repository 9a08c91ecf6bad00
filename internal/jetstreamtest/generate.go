package jetstreamtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// StreamSpec describes a synthetic jetstream stream.
type StreamSpec struct {
	Events int
	Seed   uint64
	// Start is the time_us of the first event.
	Start int64
	// Accounts is how many artists publish.
	Accounts int
	// Spacing is the mean gap between events' time_us (default 1ms).
	Spacing time.Duration
}

// Expected is the end state a correct consumer reaches from a stream.
type Expected struct {
	// Titles of the visible tracks, by at-uri.
	Visible map[string]string
	// Hidden counts tracks of deactivated accounts; Deleted counts deletes.
	Hidden, Deleted, Malformed int
	LastTimeUS                 int64
}

// Generate builds a deterministic stream of creates (most), updates,
// deletes, identity and account events and a few malformed records, in the
// exact shape jetstream sends, and the end state it should produce.
func Generate(spec StreamSpec) ([]Frame, Expected) {
	if spec.Accounts == 0 {
		spec.Accounts = max(1, spec.Events/20)
	}
	if spec.Start == 0 {
		spec.Start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	}
	if spec.Spacing == 0 {
		spec.Spacing = time.Millisecond
	}
	rng := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15))
	type track struct {
		did, rkey, title string
	}
	var (
		frames  []Frame
		live    []track // created and not deleted
		clock   = spec.Start
		revs    = map[string]int64{}
		active  = map[string]bool{}
		titles  = map[string]string{} // uri -> title, all live tracks
		deleted int
		bad     int
	)
	did := func(i int) string { return fmt.Sprintf("did:plc:gen%021d", i) }
	nextRev := func(d string) string {
		revs[d] = max(revs[d]+1, clock)
		return syntax.NewTID(revs[d], 0).String()
	}
	emit := func(v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		f, _ := ParseFrame(raw)
		frames = append(frames, f)
	}
	const cid = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"
	record := func(title, artist string) map[string]any {
		return map[string]any{
			"$type": "app.relay.track", "title": title, "artist": artist,
			"audioUrl": "https://audio.relay.example/" + url.PathEscape(title) + ".mp3", "fileType": "mp3",
			"duration": rng.IntN(600), "createdAt": time.UnixMicro(clock).UTC().Format("2006-01-02T15:04:05.000Z"),
		}
	}
	for i := 0; i < spec.Events; i++ {
		clock += 1 + rng.Int64N(2*spec.Spacing.Microseconds())
		d := did(rng.IntN(spec.Accounts))
		if _, ok := active[d]; !ok {
			active[d] = true
		}
		ev := map[string]any{"did": d, "time_us": clock}
		roll := rng.IntN(1000)
		switch {
		case roll < 10: // malformed: a record missing fileType
			rkey := syntax.NewTID(clock, 1).String()
			rec := record(fmt.Sprintf("bad%d", i), "x")
			delete(rec, "fileType")
			ev["kind"] = "commit"
			ev["commit"] = map[string]any{"rev": nextRev(d), "operation": "create", "collection": "app.relay.track", "rkey": rkey, "record": rec, "cid": cid}
			bad++
		case roll < 20: // identity
			ev["kind"] = "identity"
			ev["identity"] = map[string]any{"did": d, "handle": fmt.Sprintf("artist%d.example.com", i), "seq": i, "time": "2026-11-01T00:00:00.000Z"}
		case roll < 25: // account toggles
			active[d] = !active[d]
			acct := map[string]any{"did": d, "active": active[d], "seq": i, "time": "2026-11-01T00:00:00.000Z"}
			if !active[d] {
				acct["status"] = "deactivated"
			}
			ev["kind"] = "account"
			ev["account"] = acct
		case roll < 80 && len(live) > 0: // update
			t := &live[rng.IntN(len(live))]
			t.title = fmt.Sprintf("track %d updated", i)
			titles["at://"+t.did+"/app.relay.track/"+t.rkey] = t.title
			ev["did"] = t.did
			ev["kind"] = "commit"
			ev["commit"] = map[string]any{"rev": nextRev(t.did), "operation": "update", "collection": "app.relay.track", "rkey": t.rkey, "record": record(t.title, "artist"), "cid": cid}
		case roll < 120 && len(live) > 0: // delete
			j := rng.IntN(len(live))
			t := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			delete(titles, "at://"+t.did+"/app.relay.track/"+t.rkey)
			deleted++
			ev["did"] = t.did
			ev["kind"] = "commit"
			ev["commit"] = map[string]any{"rev": nextRev(t.did), "operation": "delete", "collection": "app.relay.track", "rkey": t.rkey}
		default: // create
			t := track{did: d, rkey: syntax.NewTID(clock, uint(rng.IntN(1024))).String(), title: fmt.Sprintf("track %d", i)}
			live = append(live, t)
			titles["at://"+t.did+"/app.relay.track/"+t.rkey] = t.title
			ev["kind"] = "commit"
			ev["commit"] = map[string]any{"rev": nextRev(d), "operation": "create", "collection": "app.relay.track", "rkey": t.rkey, "record": record(t.title, "artist"), "cid": cid}
		}
		emit(ev)
	}
	exp := Expected{Visible: map[string]string{}, Deleted: deleted, Malformed: bad, LastTimeUS: clock}
	for uri, title := range titles {
		u := syntax.ATURI(uri)
		if active[u.Authority().String()] {
			exp.Visible[uri] = title
		} else {
			exp.Hidden++
		}
	}
	return frames, exp
}
