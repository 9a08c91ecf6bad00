package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/auth"
	"github.com/relaymusic/relay/media"
	"github.com/relaymusic/relay/storage"
	"github.com/relaymusic/relay/validate"
)

// Collection is the record collection publish writes.
const Collection = syntax.NSID("app.relay.track")

// Authenticator tells who a request is from (auth.Service).
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.User, error)
}

// Applier is the store's apply path (sqlite.Store), the one the firehose's
// copy of the record goes through too.
type Applier interface {
	ApplyBatch(ctx context.Context, events []relay.Event, cursor int64) (relay.ApplyResult, error)
}

// Config configures a Publisher.
type Config struct {
	Auth   Authenticator
	Store  Applier
	Ledger Ledger // the store's uploads and references (sqlite.Store)
	Media  storage.Store
	// SpoolDir holds uploads while they are read (in the data dir: uploads
	// can be larger than a tmpfs). Journal holds the keys between their Put
	// and the PDS's answer (Sweep).
	SpoolDir, Journal string
	// MaxUploadBytes bounds the audio file (default 100 MiB); artwork is
	// bounded by media.MaxArtworkBytes.
	MaxUploadBytes int64
	// Limits per user (default 10 uploads and 100 MiB an hour).
	Limits Limits
	// MinRate is the slowest average upload taken, bytes a second, after
	// the first 10 s (default 32 KiB/s; negative: none).
	MinRate int64
	// MinRateGrace is how long an upload may run before MinRate applies
	// (default 10 s: a slow start, a TLS handshake, a phone waking up).
	MinRateGrace time.Duration
	// MaxStall is the longest a body may send nothing before it is cut
	// (default 30 s): the average rate alone is only checked when a read
	// returns, so a client that stops dead would hold its connection
	// until the size-proportional deadline (an hour at the defaults).
	MaxStall time.Duration
	// Committed is called after a track is applied, to wake the search
	// index's follower (serve's notify).
	Committed func()
	Metrics   *Metrics
	Log       *slog.Logger
}

// Publisher serves the publish and delete endpoints.
type Publisher struct {
	cfg  Config
	objs *objects
	m    *Metrics
	log  *slog.Logger
}

// New returns a Publisher.
func New(cfg Config) (*Publisher, error) {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 100 << 20
	}
	if cfg.Limits.Uploads <= 0 {
		cfg.Limits.Uploads = 10
	}
	if cfg.Limits.Bytes <= 0 {
		cfg.Limits.Bytes = 100 << 20
	}
	if cfg.Limits.Window <= 0 {
		cfg.Limits.Window = time.Hour
	}
	if cfg.MinRate == 0 {
		cfg.MinRate = 32 << 10
	}
	if cfg.MaxStall <= 0 {
		cfg.MaxStall = 30 * time.Second
	}
	if cfg.MinRateGrace <= 0 {
		cfg.MinRateGrace = 10 * time.Second
	}
	if cfg.Committed == nil {
		cfg.Committed = func() {}
	}
	p := &Publisher{cfg: cfg, m: cfg.Metrics, log: cfg.Log}
	if p.m == nil {
		p.m = NewMetrics(nil)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if err := cleanSpool(cfg.SpoolDir); err != nil {
		return nil, err
	}
	objs, err := newObjects(cfg.Media, cfg.Ledger, cfg.Journal)
	if err != nil {
		return nil, err
	}
	p.objs = objs
	return p, nil
}

// Register adds publish's endpoints to mux:
//
//	POST   /tracks, /xrpc/app.relay.track.publish  multipart → {"uri","cid","audioUrl"}
//	DELETE /tracks/{rkey}, /tracks/{did}/{rkey}    the user's own track
func (p *Publisher) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /tracks", p.handlePublish)
	mux.HandleFunc("POST /xrpc/app.relay.track.publish", p.handlePublish)
	mux.HandleFunc("DELETE /tracks/{rkey}", p.handleDelete)
	mux.HandleFunc("DELETE /tracks/{did}/{rkey}", p.handleDelete)
}

// xrpcErr is an answer that is not a success: the status, the XRPC error
// name and a message for the client, and the result it is counted as.
type xrpcErr struct {
	status     int
	name, msg  string
	result     string
	retryAfter time.Duration
	cause      error
}

func (e *xrpcErr) Error() string { return e.name + ": " + e.msg }

func fail(status int, name, result, msg string) *xrpcErr {
	return &xrpcErr{status: status, name: name, msg: msg, result: result}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, e *xrpcErr) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(retrySeconds(e.retryAfter)))
	}
	if e.status == http.StatusRequestEntityTooLarge || e.status == http.StatusBadRequest {
		// The rest of the body is not read: do not let net/http drain it.
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, e.status, map[string]string{"error": e.name, "message": e.msg})
}

// Output is publish's answer.
type Output struct {
	URI      string `json:"uri"`
	CID      string `json:"cid"`
	AudioURL string `json:"audioUrl"`
}

func (p *Publisher) handlePublish(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	out, err := p.publish(w, r)
	result := resultOK
	if err != nil {
		var xe *xrpcErr
		if !errors.As(err, &xe) {
			xe = &xrpcErr{status: http.StatusInternalServerError, name: "InternalServerError", msg: "publishing failed", result: resultStorageFailed, cause: err}
		}
		result = xe.result
		if xe.cause != nil {
			p.log.WarnContext(r.Context(), "publish failed", "result", result, "error", xe.cause)
		}
		writeErr(w, xe)
	} else {
		writeJSON(w, http.StatusOK, out)
	}
	p.m.publishes.WithLabelValues(result).Inc()
	p.m.duration.Observe(time.Since(start).Seconds())
}

// form is what the multipart body held.
type form struct {
	audio, art                         *spooled
	title, artist, album, genre, descr string
	tags                               []string
}

func (f *form) close() {
	f.audio.close()
	f.art.close()
}

// Bounds on the text fields and parts of a publish request: the lexicon's
// longest string (description) is 30000 bytes.
const (
	maxFieldBytes = 32 << 10
	maxParts      = 64
)

// readForm reads the multipart body part by part, spooling the file and
// the artwork to disk.
func (p *Publisher) readForm(r *http.Request) (*form, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, "the body must be multipart/form-data")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	f := &form{}
	ok := false
	defer func() {
		if !ok {
			f.close()
		}
	}()
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bodyErr(err)
		}
		if parts >= maxParts {
			return nil, fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, fmt.Sprintf("more than %d form parts", maxParts))
		}
		name := part.FormName()
		switch name {
		case "file", "artwork":
			limit, held := p.cfg.MaxUploadBytes, &f.audio
			if name == "artwork" {
				limit, held = media.MaxArtworkBytes, &f.art
			}
			if *held != nil {
				return nil, fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, "more than one "+name)
			}
			s, err := spool(p.cfg.SpoolDir, part, limit)
			if errors.Is(err, errTooLarge) {
				return nil, fail(http.StatusRequestEntityTooLarge, "PayloadTooLarge", resultTooLarge, fmt.Sprintf("%s over %d MB", name, limit>>20))
			}
			if err != nil {
				return nil, bodyErr(err)
			}
			*held = s
		default:
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return nil, bodyErr(err)
			}
			if len(b) > maxFieldBytes {
				return nil, fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, fmt.Sprintf("field %q over %d bytes", name, maxFieldBytes))
			}
			v := strings.TrimSpace(string(b))
			switch name {
			case "title":
				f.title = v
			case "artist":
				f.artist = v
			case "album":
				f.album = v
			case "genre":
				f.genre = v
			case "description":
				f.descr = v
			case "tags":
				for _, t := range strings.Split(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						f.tags = append(f.tags, t)
					}
				}
			}
			// Unknown fields are read and ignored, as a form may carry more.
		}
	}
	ok = true
	return f, nil
}

// bodyErr is the answer to a body that could not be read.
func bodyErr(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fail(http.StatusRequestEntityTooLarge, "PayloadTooLarge", resultTooLarge, fmt.Sprintf("request body over %d MB", mbe.Limit>>20))
	case errors.Is(err, errTooSlow):
		return fail(http.StatusRequestTimeout, "InvalidRequest", resultInvalid, "the upload is too slow")
	case errors.Is(err, errTooLarge):
		return fail(http.StatusRequestEntityTooLarge, "PayloadTooLarge", resultTooLarge, "too large")
	}
	var xe *xrpcErr
	if errors.As(err, &xe) {
		return xe
	}
	e := fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, "the multipart body could not be read")
	e.cause = err
	return e
}

func (p *Publisher) authenticate(r *http.Request) (*auth.User, *xrpcErr) {
	u, err := p.cfg.Auth.Authenticate(r)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return nil, fail(http.StatusUnauthorized, "AuthenticationRequired", resultUnauthenticated, err.Error())
	case err != nil:
		e := fail(http.StatusInternalServerError, "InternalServerError", resultUnauthenticated, "checking the login failed")
		e.cause = err
		return nil, e
	}
	return u, nil
}

// publish is the publish endpoint: read and check the upload, store it,
// write the record to the user's PDS, apply it here. Whatever fails, no
// object stays that no record names and no record names a missing object.
func (p *Publisher) publish(w http.ResponseWriter, r *http.Request) (*Output, error) {
	ctx := r.Context()
	u, xe := p.authenticate(r)
	if xe != nil {
		return nil, xe
	}
	did := u.Session.DID.String()
	// Before reading a byte: a user past the count is refused at once.
	if _, err := reserve(ctx, p.cfg.Ledger, did, time.Now(), 0, p.cfg.Limits); err != nil {
		return nil, limitErr(err)
	}

	// The server's ReadTimeout (10 s) is sized for queries; an upload of
	// the largest file at the slowest rate taken needs MaxUploadBytes /
	// MinRate, plus the artwork and slack. Lifted for this request only;
	// rateReader still cuts a client that trickles.
	rate := p.cfg.MinRate
	if rate <= 0 {
		rate = 32 << 10
	}
	total := p.cfg.MaxUploadBytes + media.MaxArtworkBytes + 1<<20
	if r.ContentLength > total {
		return nil, fail(http.StatusRequestEntityTooLarge, "PayloadTooLarge", resultTooLarge, fmt.Sprintf("request body over %d MB", total>>20))
	}
	deadline := time.Now().Add(time.Duration(total/rate)*time.Second + 30*time.Second)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline.Add(30 * time.Second))
	r.Body = http.MaxBytesReader(w, r.Body, total)
	r.Body = struct {
		io.Reader
		io.Closer
	}{&rateReader{
		r: r.Body, start: time.Now(), grace: p.cfg.MinRateGrace, min: max(p.cfg.MinRate, 0),
		stall: p.cfg.MaxStall, end: deadline, setDeadline: rc.SetReadDeadline,
	}, r.Body}

	f, err := p.readForm(r)
	if err != nil {
		return nil, err
	}
	defer f.close()
	if f.audio == nil {
		return nil, fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, "no file")
	}
	if f.title == "" || f.artist == "" {
		return nil, fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, "title and artist are required")
	}
	audio, err := media.Probe(ctx, f.audio.f, f.audio.size)
	if err != nil {
		return nil, mediaErr(err)
	}
	// The extension is the lexicon's fileType: Opus in Ogg is kept as .ogg.
	audioKey, err := storage.MakeKey("audio", f.audio.sum, audio.FileType)
	if err != nil {
		return nil, fmt.Errorf("publish: the key of a %s: %w", audio.FileType, err)
	}
	keys := []string{audioKey.String()}
	bytes := f.audio.size
	var artKey storage.Key
	if f.art != nil {
		img, err := media.Artwork(ctx, f.art.f, f.art.size)
		if err != nil {
			return nil, mediaErr(err)
		}
		if artKey, err = storage.MakeKey("art", f.art.sum, img.Ext); err != nil {
			return nil, fmt.Errorf("publish: the key of a %s: %w", img.Ext, err)
		}
		keys = append(keys, artKey.String())
		bytes += f.art.size
	}

	rkey := syntax.NewTIDNow(0).String()
	rec := map[string]any{
		"$type":         Collection.String(),
		"title":         f.title,
		"artist":        f.artist,
		"audioUrl":      p.cfg.Media.URL(audioKey.String()),
		"fileType":      audio.FileType,
		"duration":      audio.Seconds,
		"audioSha256":   audioKey.SHA256(),
		"audioSize":     f.audio.size,
		"audioMimeType": audio.MIME,
		"createdAt":     syntax.DatetimeNow().String(),
	}
	for k, v := range map[string]string{"album": f.album, "genre": f.genre, "description": f.descr} {
		if v != "" {
			rec[k] = v
		}
	}
	if len(f.tags) > 0 {
		rec["tags"] = f.tags
	}
	if !artKey.IsZero() {
		rec["imageUrl"] = p.cfg.Media.URL(artKey.String())
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("publish: encoding the record: %w", err)
	}
	// What relay's own validation would refuse is never written anywhere.
	if _, err := validate.Record(syntax.DID(did), Collection, syntax.RecordKey(rkey), rkey, "", raw); err != nil {
		return nil, fail(http.StatusBadRequest, "InvalidRecord", resultInvalid, err.Error())
	}

	reservation, err := reserve(ctx, p.cfg.Ledger, did, time.Now(), bytes, p.cfg.Limits)
	if err != nil {
		return nil, limitErr(err)
	}
	written := false
	defer func() {
		if !written {
			if err := p.cfg.Ledger.ReleaseUpload(context.WithoutCancel(ctx), reservation); err != nil {
				p.log.Warn("publish: releasing an upload's reservation", "error", err)
			}
		}
	}()

	// Stored, then written: the objects are journaled and held from before
	// their Put until the PDS answers, and released (deleted unless a
	// track names them) if it does not.
	for _, k := range keys {
		if err := p.objs.hold(k); err != nil {
			for _, h := range keys {
				if h == k {
					break
				}
				p.abandon(ctx, h)
			}
			e := fail(http.StatusServiceUnavailable, "StorageUnavailable", resultStorageFailed, "the media store is unavailable")
			e.cause = err
			return nil, e
		}
	}
	abandonAll := func() {
		for _, k := range keys {
			p.abandon(ctx, k)
		}
	}
	err = p.put(ctx, audioKey, f.audio)
	if err == nil && !artKey.IsZero() {
		err = p.put(ctx, artKey, f.art)
	}
	if err != nil {
		abandonAll()
		e := fail(http.StatusServiceUnavailable, "StorageUnavailable", resultStorageFailed, "the media store is unavailable")
		e.cause = err
		return nil, e
	}

	var created struct {
		URI    string `json:"uri"`
		CID    string `json:"cid"`
		Commit *struct {
			CID string `json:"cid"`
			Rev string `json:"rev"`
		} `json:"commit"`
	}
	in := map[string]any{"repo": did, "collection": Collection.String(), "rkey": rkey, "record": json.RawMessage(raw)}
	if err := u.PDS.Post(ctx, "com.atproto.repo.createRecord", in, &created); err != nil {
		abandonAll()
		return nil, pdsErr(err)
	}
	written = true
	for _, k := range keys {
		p.objs.unhold(k, true)
	}
	out := &Output{URI: created.URI, CID: created.CID, AudioURL: p.cfg.Media.URL(audioKey.String())}
	p.m.bytes.Add(float64(bytes))
	if created.Commit == nil || created.Commit.Rev == "" {
		// An old PDS: no rev to apply with. The firehose brings it.
		p.log.Warn("publish: createRecord answered no commit rev; the track waits for the firehose", "uri", created.URI)
		return out, nil
	}
	// Applied here at the commit's rev, so the firehose's copy is a no-op.
	tr, err := validate.Record(syntax.DID(did), Collection, syntax.RecordKey(rkey), created.Commit.Rev, created.CID, raw)
	if err == nil {
		_, err = p.cfg.Store.ApplyBatch(context.WithoutCancel(ctx), []relay.Event{{Kind: relay.TrackPut, DID: syntax.DID(did), Track: tr}}, 0)
	}
	if err != nil {
		// The record is written: it comes back through the firehose.
		p.log.Warn("publish: applying the new track here; it waits for the firehose", "uri", created.URI, "error", err)
		return out, nil
	}
	p.cfg.Committed()
	return out, nil
}

// put stores a spooled part under key.
func (p *Publisher) put(ctx context.Context, key storage.Key, s *spooled) error {
	if err := p.cfg.Media.Put(ctx, key.String(), s.reader(), s.size, ""); err != nil {
		return fmt.Errorf("publish: storing %s: %w", key, err)
	}
	return nil
}

// abandon ends a hold of key whose record was not written: the object is
// deleted unless a track names it or another publish holds it, and leaves
// the journal once that is settled.
func (p *Publisher) abandon(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	p.objs.unhold(key, false)
	if _, err := p.objs.release(ctx, key); err != nil {
		// Left in the journal: Sweep tries again.
		p.log.Warn("publish: removing an object no record names", "key", key, "error", err)
		return
	}
	if !p.objs.inFlight(key) {
		p.objs.forget(key)
	}
}

func limitErr(err error) error {
	var rl *ErrRateLimited
	if errors.As(err, &rl) {
		e := fail(http.StatusTooManyRequests, "RateLimitExceeded", resultRateLimited, rl.Error())
		e.retryAfter = rl.RetryAfter
		return e
	}
	e := fail(http.StatusInternalServerError, "InternalServerError", resultStorageFailed, "checking the upload limits failed")
	e.cause = err
	return e
}

func mediaErr(err error) error {
	switch {
	case errors.Is(err, media.ErrUnsupported):
		return fail(http.StatusBadRequest, "UnsupportedMedia", resultUnsupported, err.Error())
	case errors.Is(err, media.ErrInvalid):
		return fail(http.StatusBadRequest, "InvalidMedia", resultInvalid, err.Error())
	}
	e := fail(http.StatusRequestTimeout, "InvalidRequest", resultInvalid, "reading the upload was cut short")
	e.cause = err
	return e
}

// pdsErr is the answer to a failed PDS call: the PDS's own 4xx refusal
// passed on (the user's to fix), anything else 502.
func pdsErr(err error) error {
	var ae *atclient.APIError
	if errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 && ae.StatusCode != http.StatusTooManyRequests {
		e := fail(http.StatusBadGateway, "UpstreamFailure", resultPDSFailed, fmt.Sprintf("your PDS refused the write: %s %s", ae.Name, ae.Message))
		e.cause = err
		return e
	}
	e := fail(http.StatusBadGateway, "UpstreamFailure", resultPDSFailed, "your PDS did not take the write; nothing was published")
	e.cause = err
	return e
}

func (p *Publisher) handleDelete(w http.ResponseWriter, r *http.Request) {
	result := resultOK
	if err := p.delete(r); err != nil {
		var xe *xrpcErr
		if !errors.As(err, &xe) {
			xe = &xrpcErr{status: http.StatusInternalServerError, name: "InternalServerError", msg: "deleting failed", result: resultPDSFailed, cause: err}
		}
		result = xe.result
		if xe.cause != nil {
			p.log.WarnContext(r.Context(), "publish: delete failed", "result", result, "error", xe.cause)
		}
		writeErr(w, xe)
	} else {
		writeJSON(w, http.StatusOK, map[string]any{})
	}
	p.m.deletes.WithLabelValues(result).Inc()
}

// delete deletes the user's own track: the record on their PDS, the track
// here, and its objects once nothing names them.
func (p *Publisher) delete(r *http.Request) error {
	ctx := r.Context()
	u, xe := p.authenticate(r)
	if xe != nil {
		return xe
	}
	did := u.Session.DID.String()
	if raw := r.PathValue("did"); raw != "" {
		d, err := syntax.ParseDID(raw)
		if err != nil {
			return fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, "not a DID")
		}
		if d.String() != did {
			return fail(http.StatusForbidden, "Forbidden", "forbidden", "you can delete only your own tracks")
		}
	}
	rkey, err := syntax.ParseRecordKey(r.PathValue("rkey"))
	if err != nil {
		return fail(http.StatusBadRequest, "InvalidRequest", resultInvalid, "not a record key")
	}
	audioURL, imageURL, known, err := p.cfg.Ledger.TrackMedia(ctx, did, Collection.String(), rkey.String())
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if !known {
		// Not indexed here (yet): the record itself names its objects.
		var got struct {
			Value struct {
				AudioURL string `json:"audioUrl"`
				ImageURL string `json:"imageUrl"`
			} `json:"value"`
		}
		params := map[string]any{"repo": did, "collection": Collection.String(), "rkey": rkey.String()}
		if err := u.PDS.Get(ctx, "com.atproto.repo.getRecord", params, &got); err == nil {
			audioURL, imageURL = got.Value.AudioURL, got.Value.ImageURL
		}
	}
	var deleted struct {
		Commit *struct {
			Rev string `json:"rev"`
		} `json:"commit"`
	}
	in := map[string]any{"repo": did, "collection": Collection.String(), "rkey": rkey.String()}
	if err := u.PDS.Post(ctx, "com.atproto.repo.deleteRecord", in, &deleted); err != nil {
		return pdsErr(err)
	}
	ctx = context.WithoutCancel(ctx)
	if deleted.Commit != nil && deleted.Commit.Rev != "" {
		ev := relay.Event{Kind: relay.TrackDelete, DID: syntax.DID(did), Collection: Collection, RKey: rkey, Rev: deleted.Commit.Rev}
		if _, err := p.cfg.Store.ApplyBatch(ctx, []relay.Event{ev}, 0); err != nil {
			// The firehose's delete follows; the objects stay until then.
			p.log.Warn("publish: applying a delete here", "did", did, "rkey", rkey, "error", err)
			return nil
		}
		p.cfg.Committed()
	}
	for _, u := range []string{audioURL, imageURL} {
		if key := p.keyOf(u); key != "" {
			if _, err := p.objs.release(ctx, key); err != nil {
				p.log.Warn("publish: deleting a track's object", "key", key, "error", err)
			}
		}
	}
	return nil
}

// keyOf is the key of an object of this store that objURL names, "" when
// it names something else.
func (p *Publisher) keyOf(objURL string) string {
	if objURL == "" {
		return ""
	}
	i := strings.LastIndex(objURL, "/")
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(objURL[:i], "/")
	k, err := storage.ParseKey(objURL[j+1:])
	if err != nil || p.cfg.Media.URL(k.String()) != objURL {
		return ""
	}
	return k.String()
}
