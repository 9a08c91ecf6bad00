-- relay's SQLite schema: the truth the search index and the appview derive
-- from. Applied at every open; every statement is idempotent. A data dir
-- made under an older schema is migrated first (sqlite/migrate.go).

-- One row per track ever seen, keyed by its at-uri (did, collection, rkey):
-- tracks of two music collections with the same rkey are two tracks. A
-- delete keeps the row as a tombstone (deleted = 1) with its rev, so a
-- replayed or late create, whose rev is not newer, cannot bring the track
-- back.
CREATE TABLE IF NOT EXISTS tracks (
	did         TEXT    NOT NULL,
	collection  TEXT    NOT NULL,          -- NSID of the record, e.g. app.relay.track
	rkey        TEXT    NOT NULL,
	rev         TEXT    NOT NULL,          -- repo rev (TID) of the commit that wrote this row
	deleted     INTEGER NOT NULL DEFAULT 0,
	cid         TEXT    NOT NULL DEFAULT '',
	title       TEXT    NOT NULL DEFAULT '',
	artist      TEXT    NOT NULL DEFAULT '',
	album       TEXT    NOT NULL DEFAULT '',
	genre       TEXT    NOT NULL DEFAULT '',
	tags        TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
	description TEXT    NOT NULL DEFAULT '',
	duration    INTEGER,                     -- seconds; NULL when unknown
	file_type   TEXT    NOT NULL DEFAULT '',
	audio_url   TEXT    NOT NULL DEFAULT '',
	image_url   TEXT    NOT NULL DEFAULT '',
	features    TEXT    NOT NULL DEFAULT '[]', -- JSON array of {did, handle, displayName}
	record      TEXT    NOT NULL DEFAULT '',   -- the record as written (JSON)
	created_at  INTEGER NOT NULL DEFAULT 0,    -- unix microseconds, as the record claims
	indexed_at  INTEGER NOT NULL,              -- unix microseconds, first seen here
	sort_at     INTEGER NOT NULL,              -- min(created_at, indexed_at)
	audio_missing INTEGER NOT NULL DEFAULT 0,  -- 1: the audio checker found audio_url gone (audio_checks); hidden, not deleted
	PRIMARY KEY (did, collection, rkey)
);

-- The discovery feed walks this index newest first, in the order of its
-- cursor (sort_at, did, collection, rkey).
CREATE INDEX IF NOT EXISTS tracks_feed ON tracks (sort_at, did, collection, rkey) WHERE deleted = 0;

-- Account state from identity and account events, kept only for accounts
-- with tracks or tombstones (jetstream sends these events for every account
-- of the network): the row is made with the account's first track. No row:
-- active. handle '' is not known yet; the handle resolver fills it in,
-- retrying a failed lookup at handle_next_at. handle_recheck != 0: an
-- identity event without a handle (the DID document changed) asks the
-- resolver for a fresh lookup; the old handle is shown until it answers.
CREATE TABLE IF NOT EXISTS actors (
	did             TEXT    PRIMARY KEY,
	handle          TEXT    NOT NULL DEFAULT '',
	active          INTEGER NOT NULL DEFAULT 1,
	status          TEXT    NOT NULL DEFAULT '',
	updated_at      INTEGER NOT NULL DEFAULT 0, -- unix microseconds
	handle_attempts INTEGER NOT NULL DEFAULT 0, -- failed lookups since the last success
	handle_next_at  INTEGER NOT NULL DEFAULT 0, -- unix microseconds
	handle_recheck  INTEGER NOT NULL DEFAULT 0, -- unix microseconds of the event that asked; 0: none
	track_count     INTEGER NOT NULL DEFAULT 0  -- tracks neither deleted nor audio_missing: kept by the triggers below
);
CREATE INDEX IF NOT EXISTS actors_handle_due ON actors (handle_next_at) WHERE handle = '' OR handle_recheck != 0;

-- Every change that can alter what search shows gets a sequence number. The
-- search index applies them in order and stores the last one it applied.
-- (did, collection, rkey) is the track's key. collection has a default only
-- so that a version 2 file could gain it with ALTER TABLE; every insert
-- names it.
CREATE TABLE IF NOT EXISTS outbox (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	did        TEXT NOT NULL,
	rkey       TEXT NOT NULL,
	collection TEXT NOT NULL DEFAULT ''
);

-- Small named values: the jetstream cursor (unix microseconds), written in the
-- same transaction as the rows its events produced.
CREATE TABLE IF NOT EXISTS state (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);

-- Backfill: every repo found to hold tracks, and how far it got. A run that
-- is interrupted continues from here; a repo that failed keeps its error and
-- is retried with backoff, never dropped.
CREATE TABLE IF NOT EXISTS backfill_repos (
	did             TEXT    PRIMARY KEY,
	state           TEXT    NOT NULL DEFAULT 'pending', -- pending, done, failed
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	next_attempt_at INTEGER NOT NULL DEFAULT 0, -- unix microseconds
	records         INTEGER NOT NULL DEFAULT 0,
	rev             TEXT    NOT NULL DEFAULT '', -- repo rev of the snapshot applied
	updated_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS backfill_repos_todo ON backfill_repos (state, next_attempt_at);

-- Where the listing of each repo source (a relay, a PDS) got to.
CREATE TABLE IF NOT EXISTS backfill_sources (
	source   TEXT    PRIMARY KEY,
	cursor   TEXT    NOT NULL DEFAULT '',
	complete INTEGER NOT NULL DEFAULT 0
);

-- An artist's feed walks this index newest first, in the feed's cursor
-- order within the artist; artist counts and albums read it too.
CREATE INDEX IF NOT EXISTS tracks_artist ON tracks (did, sort_at, collection, rkey) WHERE deleted = 0;

-- Handle lookups (getArtist, getArtistFeed by handle). Handles are
-- case-insensitive; the lookup lowers the one asked.
CREATE INDEX IF NOT EXISTS actors_handle ON actors (lower(handle)) WHERE handle != '';

-- Plays counted by GET /play, per track per hour (unix seconds / 3600). A
-- listener counts once per track per 30 minutes; no client address, nor
-- anything derived from one, is stored here. getTrending sums the hours of
-- its window.
CREATE TABLE IF NOT EXISTS plays (
	did        TEXT    NOT NULL,
	collection TEXT    NOT NULL,
	rkey       TEXT    NOT NULL,
	hour       INTEGER NOT NULL,
	count      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (did, collection, rkey, hour)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS plays_hour ON plays (hour);

-- The audio checker's memory of each track's audio_url: whether it answered
-- and when to ask again. A track whose audio answered 404 or 410 twice is
-- marked tracks.audio_missing until a recheck finds it; network errors
-- never hide one.
CREATE TABLE IF NOT EXISTS audio_checks (
	did        TEXT    NOT NULL,
	collection TEXT    NOT NULL,
	rkey       TEXT    NOT NULL,
	audio_url  TEXT    NOT NULL,           -- the URL checked; a changed one is checked afresh
	status     TEXT    NOT NULL DEFAULT '', -- '' not checked yet; ok; missing; unreachable
	misses     INTEGER NOT NULL DEFAULT 0,  -- 404/410 answers in a row
	checked_at INTEGER NOT NULL DEFAULT 0,  -- unix microseconds
	next_at    INTEGER NOT NULL DEFAULT 0,  -- unix microseconds
	PRIMARY KEY (did, collection, rkey)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audio_checks_due ON audio_checks (next_at);

-- Sessions of the instance's own users (package auth). A bearer token or a
-- cookie is shown to its holder once and kept here only as its SHA-256, so
-- a copy of the file logs nobody in. pds holds what writing to the user's
-- PDS needs: an app-password session's tokens (JSON), or, for OAuth, the
-- session id of oauth_sessions. Revoked and expired rows are pruned.
CREATE TABLE IF NOT EXISTS auth_sessions (
	token_hash  TEXT    PRIMARY KEY,       -- hex SHA-256 of the token
	kind        TEXT    NOT NULL,          -- token (the upload API's bearer) or cookie (the web UI)
	method      TEXT    NOT NULL,          -- password or oauth
	did         TEXT    NOT NULL,
	handle      TEXT    NOT NULL DEFAULT '',
	pds         TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,          -- unix microseconds
	expires_at  INTEGER NOT NULL,          -- unix microseconds
	revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS auth_sessions_did ON auth_sessions (did);
CREATE INDEX IF NOT EXISTS auth_sessions_expiry ON auth_sessions (expires_at);

-- indigo's OAuth client state (oauth.ClientAuthStore): sessions with their
-- DPoP keys and tokens, and pending authorization requests (state, PKCE
-- verifier), each as the JSON indigo gives.
CREATE TABLE IF NOT EXISTS oauth_sessions (
	did        TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	data       TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (did, session_id)
);
CREATE TABLE IF NOT EXISTS oauth_requests (
	state      TEXT    PRIMARY KEY,
	data       TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);

-- Uploads by the instance's users, for the per-user hourly limits (count
-- and bytes) of the publish endpoint; rows older than the window are
-- pruned.
CREATE TABLE IF NOT EXISTS uploads (
	did        TEXT    NOT NULL,
	at         INTEGER NOT NULL,           -- unix microseconds
	bytes      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_did_at ON uploads (did, at);

-- actors.track_count follows the tracks table, so that hydrating a page's
-- artists reads one row per artist instead of counting each one's tracks
-- (0.6 s for the 50 artists of a page at 100k tracks). A track counts
-- while it is neither deleted nor audio_missing; the account's own
-- visibility is actors.active, apart. The account's row is made before its
-- first track is written (sqlite/apply.go ensureActor).
CREATE TRIGGER IF NOT EXISTS tracks_count_insert AFTER INSERT ON tracks
WHEN NEW.deleted = 0 AND NEW.audio_missing = 0
BEGIN
	UPDATE actors SET track_count = track_count + 1 WHERE did = NEW.did;
END;
CREATE TRIGGER IF NOT EXISTS tracks_count_update AFTER UPDATE OF deleted, audio_missing ON tracks
WHEN (OLD.deleted = 0 AND OLD.audio_missing = 0) != (NEW.deleted = 0 AND NEW.audio_missing = 0)
BEGIN
	UPDATE actors SET track_count = track_count + CASE WHEN NEW.deleted = 0 AND NEW.audio_missing = 0 THEN 1 ELSE -1 END
	WHERE did = NEW.did;
END;
CREATE TRIGGER IF NOT EXISTS tracks_count_delete AFTER DELETE ON tracks
WHEN OLD.deleted = 0 AND OLD.audio_missing = 0
BEGIN
	UPDATE actors SET track_count = track_count - 1 WHERE did = OLD.did;
END;
