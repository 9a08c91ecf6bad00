package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/relaymusic/relay"
)

// schemaVersion is stored in SQLite's user_version. 0 is a new file or one
// made before versions were kept.
//
//	1: actors holds only accounts with tracks or tombstones, and the handle
//	   resolver's columns.
//	2: actors.handle_recheck, and the resolver's index covers rechecks.
const schemaVersion = 2

// migrate brings a database made under an older schema up to the current
// one, in one transaction with the version bump (SQLite's DDL is
// transactional: a crash leaves the old shape whole). A new file only gets
// its version.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v >= schemaVersion {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning migration: %w", err)
	}
	defer tx.Rollback()
	// Again under the write lock: a relay backfill opening the same file
	// at the same moment may have migrated it while we waited.
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v >= schemaVersion {
		return nil
	}
	var hasActors int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'actors'`).Scan(&hasActors); err != nil {
		return fmt.Errorf("reading schema: %w", err)
	}
	// Version 1 rebuilds actors in the current shape, so a version 0 file
	// needs no later step for that table.
	if hasActors == 1 && v < 1 {
		if err := actorsWithTracks(ctx, tx); err != nil {
			return err
		}
	} else if hasActors == 1 && v < 2 {
		if err := handleRecheck(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("saving schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migration: %w", err)
	}
	return nil
}

// actorsWithTracks (version 1) rebuilds actors with only the accounts that
// have tracks or tombstones, each of them with a row. The old table held the
// whole network's accounts (5 GB at 40M): it is read only through the
// accounts with tracks and dropped whole, which costs what the tracks cost,
// not a 40M-row delete (measured: 2.6 s for 1M old rows beside 10k artists,
// most of it freeing the old table's pages). The file keeps the freed pages
// for reuse; VACUUM, with relay stopped, returns them to the disk.
func actorsWithTracks(ctx context.Context, tx *sql.Tx) error {
	start := time.Now()
	for _, q := range []string{
		`ALTER TABLE actors RENAME TO actors_v0`,
		relay.Schema,
		`INSERT INTO actors (did, handle, active, status, updated_at)
SELECT t.did, COALESCE(a.handle, ''), COALESCE(a.active, 1), COALESCE(a.status, ''), COALESCE(a.updated_at, 0)
FROM (SELECT DISTINCT did FROM tracks) t LEFT JOIN actors_v0 a ON a.did = t.did`,
		`DROP TABLE actors_v0`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrating actors to accounts with tracks: %w", err)
		}
	}
	var kept int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM actors`).Scan(&kept); err != nil {
		return fmt.Errorf("counting migrated actors: %w", err)
	}
	slog.Info("sqlite: actors migrated to accounts with tracks", "kept", kept, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// handleRecheck (version 2) adds the column an identity event without a
// handle sets, and replaces the resolver's index with one that also covers
// the accounts it marks. Adding a column with a constant default rewrites no
// row; the new index is built when the schema is applied, after this.
func handleRecheck(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		`ALTER TABLE actors ADD COLUMN handle_recheck INTEGER NOT NULL DEFAULT 0`,
		`DROP INDEX IF EXISTS actors_handle_todo`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrating actors to handle rechecks: %w", err)
		}
	}
	return nil
}
