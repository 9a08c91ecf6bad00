package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// schemaVersion is stored in SQLite's user_version. 0 is a new file or one
// made before versions were kept.
//
//	1: actors holds only accounts with tracks or tombstones, and the handle
//	   resolver's columns.
const schemaVersion = 1

// migrate brings a database made under an older schema up to the one
// schema.sql creates, before schema.sql is applied (it creates indexes on the
// new columns). Each step runs in one transaction with the version bump.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v >= schemaVersion {
		return nil
	}
	var hasActors int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'actors'`).Scan(&hasActors); err != nil {
		return fmt.Errorf("reading schema: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning migration: %w", err)
	}
	defer tx.Rollback()
	if hasActors == 1 {
		start := time.Now()
		cols := map[string]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info('actors')`)
		if err != nil {
			return fmt.Errorf("reading actors columns: %w", err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return fmt.Errorf("reading actors columns: %w", err)
			}
			cols[name] = true
		}
		rows.Close()
		for _, col := range []string{"handle_attempts", "handle_next_at"} {
			if cols[col] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `ALTER TABLE actors ADD COLUMN `+col+` INTEGER NOT NULL DEFAULT 0`); err != nil {
				return fmt.Errorf("adding actors.%s: %w", col, err)
			}
		}
		// Accounts seen only through identity and account events: the
		// whole network's, not ours to keep.
		res, err := tx.ExecContext(ctx, `DELETE FROM actors WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.did = actors.did)`)
		if err != nil {
			return fmt.Errorf("dropping accounts without tracks: %w", err)
		}
		dropped, _ := res.RowsAffected()
		// Every account with tracks gets its row, so the resolver finds
		// those whose handle is not known.
		res, err = tx.ExecContext(ctx, `INSERT INTO actors (did) SELECT DISTINCT did FROM tracks WHERE true ON CONFLICT (did) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("adding accounts with tracks: %w", err)
		}
		added, _ := res.RowsAffected()
		slog.Info("sqlite: migrated actors to accounts with tracks", "dropped", dropped, "added", added, "took", time.Since(start).Round(time.Millisecond))
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("saving schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migration: %w", err)
	}
	return nil
}
