package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// ApplyBatch applies events in order in one transaction and, when cursor > 0,
// stores it as the jetstream cursor in that same transaction. Applying an
// event twice is harmless: puts and deletes carry a rev and only a newer rev
// changes a row.
func (s *Store) ApplyBatch(ctx context.Context, events []relay.Event, cursor int64) (relay.ApplyResult, error) {
	var res relay.ApplyResult
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("beginning apply transaction: %w", err)
	}
	defer tx.Rollback()

	now := time.Now().UnixMicro()
	a := applier{tx: tx, now: now, stmts: map[string]*sql.Stmt{}, recent: s.recent}
	for i := range events {
		ev := &events[i]
		changed, err := a.apply(ctx, ev)
		if err != nil {
			return relay.ApplyResult{}, fmt.Errorf("applying event for %s: %w", ev.DID, err)
		}
		count(&res, changed)
	}
	if cursor > 0 {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			keyCursor, cursor); err != nil {
			return relay.ApplyResult{}, fmt.Errorf("saving cursor: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return relay.ApplyResult{}, fmt.Errorf("committing apply transaction: %w", err)
	}
	a.committed(s.recent)
	return res, nil
}

// committed carries what the transaction learned of accounts without rows
// into the store's memory of them, and forgets the accounts that got a row.
// Only once committed: a batch that rolls back is applied again, and must
// find the accounts as they were. Every write path calls it after Commit.
func (a *applier) committed(r *recentAccounts) {
	for did, st := range a.pending {
		r.put(did, st)
	}
	for _, did := range a.created {
		r.drop(did)
	}
}

type applier struct {
	tx  *sql.Tx
	now int64
	// stmts are prepared once per transaction: preparing each statement per
	// event cost more than running it.
	stmts map[string]*sql.Stmt

	// recent is the store's memory of accounts without a row (nil: none).
	recent *recentAccounts
	// pending holds what this transaction learnt of accounts without a row;
	// created, the accounts it gave a row; known, the accounts seen to have
	// one. Made on first use, so any applier literal works.
	pending map[string]accountState
	created []string
	known   map[string]bool
}

func (a *applier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := a.stmts[query]; ok {
		return st, nil
	}
	st, err := a.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	a.stmts[query] = st
	return st, nil
}

func (a *applier) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := a.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (a *applier) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := a.stmt(ctx, query)
	if err != nil {
		// database/sql has no way to build a Row holding an error; fall
		// back to the unprepared path, which reports it.
		return a.tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (a *applier) apply(ctx context.Context, ev *relay.Event) (bool, error) {
	switch ev.Kind {
	case relay.TrackPut:
		return a.putTrack(ctx, ev.Track)
	case relay.TrackDelete:
		return a.deleteTrack(ctx, ev)
	case relay.AccountStatus:
		return a.accountStatus(ctx, ev)
	case relay.IdentityUpdate:
		return a.identity(ctx, ev)
	default:
		return false, fmt.Errorf("unknown event kind %d", ev.Kind)
	}
}

// putTrack upserts the track when its rev is newer than the stored one
// (tombstones included). indexed_at is kept from the first sighting.
func (a *applier) putTrack(ctx context.Context, t *relay.Track) (bool, error) {
	if t.Collection == "" {
		return false, fmt.Errorf("track %s/%s has no collection: a track is its at-uri", t.DID, t.RKey)
	}
	if err := a.ensureActor(ctx, t.DID); err != nil {
		return false, err
	}
	tags, err := json.Marshal(nonNil(t.Tags))
	if err != nil {
		return false, fmt.Errorf("encoding tags: %w", err)
	}
	features, err := json.Marshal(nonNil(t.Features))
	if err != nil {
		return false, fmt.Errorf("encoding features: %w", err)
	}
	indexedAt := a.now
	if !t.IndexedAt.IsZero() {
		indexedAt = t.IndexedAt.UnixMicro()
	}
	var createdAt int64
	if !t.CreatedAt.IsZero() {
		createdAt = t.CreatedAt.UnixMicro()
	}
	sortAt := relay.SortTime(microTime(createdAt), microTime(indexedAt)).UnixMicro()
	res, err := a.exec(ctx, `
INSERT INTO tracks (did, collection, rkey, rev, deleted, cid, title, artist, album, genre, tags, description,
	duration, file_type, audio_url, image_url, features, record, created_at, indexed_at, sort_at)
VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (did, collection, rkey) DO UPDATE SET
	rev = excluded.rev, deleted = 0, cid = excluded.cid, title = excluded.title,
	artist = excluded.artist, album = excluded.album, genre = excluded.genre,
	tags = excluded.tags, description = excluded.description, duration = excluded.duration,
	file_type = excluded.file_type, audio_url = excluded.audio_url, image_url = excluded.image_url,
	features = excluded.features, record = excluded.record, created_at = excluded.created_at,
	sort_at = CASE WHEN excluded.created_at != 0 AND excluded.created_at < tracks.indexed_at
		THEN excluded.created_at ELSE tracks.indexed_at END
WHERE excluded.rev > tracks.rev`,
		t.DID.String(), t.Collection.String(), t.RKey.String(), t.Rev, t.CID, t.Title, t.Artist, t.Album, t.Genre,
		string(tags), t.Description, t.Duration, t.FileType, t.AudioURL, t.ImageURL,
		string(features), string(t.Record), createdAt, indexedAt, sortAt)
	if err != nil {
		return false, fmt.Errorf("upserting track %s: %w", t.URI(), err)
	}
	return a.changed(ctx, res, t.DID.String(), t.Collection.String(), t.RKey.String())
}

// deleteTrack turns the row into a tombstone carrying the delete's rev, or
// inserts one when the track was never seen.
func (a *applier) deleteTrack(ctx context.Context, ev *relay.Event) (bool, error) {
	if ev.Collection == "" {
		return false, fmt.Errorf("delete of %s/%s has no collection: a track is its at-uri", ev.DID, ev.RKey)
	}
	if err := a.ensureActor(ctx, ev.DID); err != nil {
		return false, err
	}
	res, err := a.exec(ctx, `
INSERT INTO tracks (did, collection, rkey, rev, deleted, indexed_at, sort_at) VALUES (?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (did, collection, rkey) DO UPDATE SET
	rev = excluded.rev, deleted = 1, cid = '', title = '', artist = '', album = '', genre = '',
	tags = '[]', description = '', duration = NULL, file_type = '', audio_url = '',
	image_url = '', features = '[]', record = ''
WHERE excluded.rev > tracks.rev`,
		ev.DID.String(), ev.Collection.String(), ev.RKey.String(), ev.Rev, a.now, a.now)
	if err != nil {
		return false, fmt.Errorf("deleting track %s: %w", relay.TrackURI(ev.DID, ev.Collection, ev.RKey), err)
	}
	return a.changed(ctx, res, ev.DID.String(), ev.Collection.String(), ev.RKey.String())
}

// changed reports whether the statement touched a row and, if so, appends
// the track to the outbox.
func (a *applier) changed(ctx context.Context, res sql.Result, did, collection, rkey string) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("reading rows affected: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	if _, err := a.exec(ctx, `INSERT INTO outbox (did, collection, rkey) VALUES (?, ?, ?)`, did, collection, rkey); err != nil {
		return false, fmt.Errorf("appending to outbox: %w", err)
	}
	return true, nil
}

// ensureActor gives the account a row when its first track (or tombstone)
// arrives, and applies what the network last said of it (this batch, or the
// store's recent memory) as if the row had been there all along: a
// deactivation seen before the first track still hides it.
func (a *applier) ensureActor(ctx context.Context, did syntax.DID) error {
	d := did.String()
	if a.known[d] {
		return nil
	}
	res, err := a.exec(ctx, `INSERT INTO actors (did, updated_at) VALUES (?, ?) ON CONFLICT (did) DO NOTHING`, d, a.now)
	if err != nil {
		return fmt.Errorf("saving account %s: %w", d, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("reading rows affected: %w", err)
	}
	if a.known == nil {
		a.known = map[string]bool{}
	}
	a.known[d] = true
	if n == 0 {
		return nil
	}
	a.created = append(a.created, d)
	st, ok := a.pending[d]
	if ok {
		delete(a.pending, d)
	} else {
		st, ok = a.recent.get(d)
	}
	if !ok {
		return nil
	}
	if st.hasStatus {
		if _, err := a.accountStatus(ctx, &relay.Event{Kind: relay.AccountStatus, DID: did, Active: st.active, Status: st.status}); err != nil {
			return err
		}
	}
	if st.handle != "" {
		if _, err := a.identity(ctx, &relay.Event{Kind: relay.IdentityUpdate, DID: did, Handle: st.handle}); err != nil {
			return err
		}
	}
	return nil
}

// remember records, for an account without a row, what an event said of it.
func (a *applier) remember(did string, update func(*accountState)) {
	st, ok := a.pending[did]
	if !ok {
		st, _ = a.recent.get(did)
	}
	update(&st)
	if a.pending == nil {
		a.pending = map[string]accountState{}
	}
	a.pending[did] = st
}

// accountStatus hides (active=false) or shows the account's tracks; status
// "deleted" removes them for good (tombstones keep their revs). Only a change
// of visibility touches the outbox. An account without tracks gets no row:
// jetstream sends these events for every account of the network, whatever
// collections were asked for; its state is only remembered for a while.
func (a *applier) accountStatus(ctx context.Context, ev *relay.Event) (bool, error) {
	did := ev.DID.String()
	var wasActive bool
	var prevStatus string
	err := a.queryRow(ctx, `SELECT active, status FROM actors WHERE did = ?`, did).Scan(&wasActive, &prevStatus)
	if errors.Is(err, sql.ErrNoRows) {
		a.remember(did, func(st *accountState) {
			st.hasStatus, st.active, st.status = true, ev.Active, ev.Status
		})
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading account %s: %w", did, err)
	}
	if _, err := a.exec(ctx, `UPDATE actors SET active = ?, status = ?, updated_at = ? WHERE did = ?`,
		ev.Active, ev.Status, a.now, did); err != nil {
		return false, fmt.Errorf("saving account %s: %w", did, err)
	}
	if !ev.Active && ev.Status == "deleted" {
		if _, err := a.exec(ctx,
			`INSERT INTO outbox (did, collection, rkey) SELECT did, collection, rkey FROM tracks WHERE did = ? AND deleted = 0`, did); err != nil {
			return false, fmt.Errorf("appending deleted account's tracks to outbox: %w", err)
		}
		if _, err := a.exec(ctx, `
UPDATE tracks SET deleted = 1, cid = '', title = '', artist = '', album = '', genre = '', tags = '[]',
	description = '', duration = NULL, file_type = '', audio_url = '', image_url = '', features = '[]', record = ''
WHERE did = ? AND deleted = 0`, did); err != nil {
			return false, fmt.Errorf("removing deleted account's tracks: %w", err)
		}
		return true, nil
	}
	if wasActive == ev.Active {
		return prevStatus != ev.Status, nil
	}
	if _, err := a.exec(ctx,
		`INSERT INTO outbox (did, collection, rkey) SELECT did, collection, rkey FROM tracks WHERE did = ? AND deleted = 0`, did); err != nil {
		return false, fmt.Errorf("appending account's tracks to outbox: %w", err)
	}
	return true, nil
}

// identity stores the handle of an account with tracks; of any other it is
// only remembered for a while. An identity event without a handle says the
// DID document changed, and the handle may have: the relay that verified it
// forwards a handle only when it verified, and indigo's public relay never
// does. For an account with tracks it marks a fresh lookup for the handle
// resolver (the old handle is shown until the lookup answers); for any
// other it forgets the handle remembered, so that a first track waits for a
// lookup rather than start with a stale one.
func (a *applier) identity(ctx context.Context, ev *relay.Event) (bool, error) {
	did := ev.DID.String()
	var (
		handle  string
		recheck int64
	)
	err := a.queryRow(ctx, `SELECT handle, handle_recheck FROM actors WHERE did = ?`, did).Scan(&handle, &recheck)
	if errors.Is(err, sql.ErrNoRows) {
		if ev.Handle != "" {
			a.remember(did, func(st *accountState) { st.handle = ev.Handle })
		} else if a.rememberedHandle(did) {
			a.remember(did, func(st *accountState) { st.handle = "" })
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading account %s: %w", did, err)
	}
	if ev.Handle == "" {
		// Due at once, attempts reset: this is news, not a retry.
		if _, err := a.exec(ctx, `UPDATE actors SET handle_recheck = ?, handle_attempts = 0, handle_next_at = 0 WHERE did = ?`,
			a.now, did); err != nil {
			return false, fmt.Errorf("marking handle of %s for a lookup: %w", did, err)
		}
		return true, nil
	}
	if handle == ev.Handle && recheck == 0 {
		return false, nil
	}
	// The event's handle is the newer word: a recheck asked before it is
	// answered, and a lookup in flight will not overwrite it.
	if _, err := a.exec(ctx, `
UPDATE actors SET handle = ?, handle_recheck = 0, handle_attempts = 0, handle_next_at = 0, updated_at = ? WHERE did = ?`,
		ev.Handle, a.now, did); err != nil {
		return false, fmt.Errorf("saving handle of %s: %w", did, err)
	}
	if handle == ev.Handle {
		return false, nil
	}
	// The artist is searched by its handle (search's artist documents).
	if _, err := a.exec(ctx, touchArtist, did); err != nil {
		return false, fmt.Errorf("appending renamed account %s to outbox: %w", did, err)
	}
	return true, nil
}

// rememberedHandle reports whether this transaction or the store's memory
// holds a handle for an account without a row.
func (a *applier) rememberedHandle(did string) bool {
	st, ok := a.pending[did]
	if !ok {
		st, ok = a.recent.get(did)
	}
	return ok && st.handle != ""
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func microTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// count adds one event's outcome to r.
func count(r *relay.ApplyResult, changed bool) {
	if changed {
		r.Applied++
	} else {
		r.Stale++
	}
}
