package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	_ "github.com/mattn/go-sqlite3" // the sqlite3 driver; FTS5 needs -tags sqlite_fts5

	"github.com/relaymusic/relay/bench/corpus"
)

// ftsSchema mirrors the Bleve index: the same searched fields, accents
// folded by the tokenizer.
const ftsSchema = `CREATE VIRTUAL TABLE fts USING fts5(
	title, artist, album, genre, tags, uri UNINDEXED,
	tokenize = 'unicode61 remove_diacritics 2')`

// ftsQuery ranks with the same field weights as relay's Bleve query
// (title 3, artist 3, album 2, genre 1, tags 1).
const ftsQuery = `SELECT uri FROM fts WHERE fts MATCH ? ORDER BY bm25(fts, 3.0, 3.0, 2.0, 1.0, 1.0) LIMIT 10`

// buildFTS writes spec's tracks into an FTS5 table at path, unless a
// complete one is there. It fails with errNoFTS5 when the driver was built
// without FTS5.
func buildFTS(ctx context.Context, path string, spec corpus.Spec) (*sql.DB, error) {
	done := path + ".complete"
	if _, err := os.Stat(done); err != nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("fts5: clearing %s: %w", path, err)
		}
		if err := fillFTS(ctx, path, spec); err != nil {
			return nil, err
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			return nil, fmt.Errorf("fts5: %w", err)
		}
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("fts5: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

var errNoFTS5 = errors.New("sqlite3 driver built without FTS5 (build with -tags sqlite_fts5)")

func fillFTS(ctx context.Context, path string, spec corpus.Spec) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL")
	if err != nil {
		return fmt.Errorf("fts5: opening %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, ftsSchema); err != nil {
		if strings.Contains(err.Error(), "no such module") {
			return errNoFTS5
		}
		return fmt.Errorf("fts5: creating table: %w", err)
	}
	g := corpus.New(spec)
	for done := false; !done; {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("fts5: begin: %w", err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO fts (title, artist, album, genre, tags, uri) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("fts5: prepare: %w", err)
		}
		for range corpus.BatchSize {
			t := g.Next()
			if t == nil {
				done = true
				break
			}
			if _, err := st.ExecContext(ctx, t.Title, t.Artist, t.Album, t.Genre, strings.Join(t.Tags, " "), t.URI().String()); err != nil {
				tx.Rollback()
				return fmt.Errorf("fts5: insert: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("fts5: commit: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO fts(fts) VALUES ('optimize')`); err != nil {
		return fmt.Errorf("fts5: optimize: %w", err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("fts5: checkpoint: %w", err)
	}
	return nil
}

// ftsMatch turns a query into an FTS5 MATCH expression: every word must
// match (implicit AND), each quoted so punctuation is literal, the last one
// as a prefix when the user is still typing it.
func ftsMatch(q corpus.Query) string {
	parts := make([]string, len(q.Words))
	for i, w := range q.Words {
		parts[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if q.PrefixLast && i == len(q.Words)-1 {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " ")
}

func ftsSearch(ctx context.Context, db *sql.DB, q corpus.Query) ([]string, error) {
	rows, err := db.QueryContext(ctx, ftsQuery, ftsMatch(q))
	if err != nil {
		return nil, fmt.Errorf("fts5: query %q: %w", q.Text, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("fts5: scan: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
