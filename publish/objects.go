package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/relaymusic/relay/storage"
)

// objects guards the stored objects publish writes: an object is deleted
// only when no live track names it and no publish in flight holds it, and
// every object between its Put and the PDS's answer is in a journal on disk,
// so a crash in that window leaves a name for Sweep to find rather than an
// orphan nobody knows of.
type objects struct {
	media   storage.Store
	ledger  Ledger
	journal string // directory of pending keys, one empty file each

	mu   sync.Mutex
	held map[string]int // keys in flight, by count
}

func newObjects(media storage.Store, ledger Ledger, journal string) (*objects, error) {
	if err := os.MkdirAll(journal, 0o755); err != nil {
		return nil, fmt.Errorf("publish: creating %s: %w", journal, err)
	}
	return &objects{media: media, ledger: ledger, journal: journal, held: map[string]int{}}, nil
}

// journalName is the file of key in the journal: the key with its slash
// turned to a dash (keys hold only [0-9a-z/.]).
func (o *objects) journalName(key string) string {
	return filepath.Join(o.journal, strings.ReplaceAll(key, "/", "-"))
}

// hold marks key in flight and writes it to the journal.
func (o *objects) hold(key string) error {
	o.mu.Lock()
	o.held[key]++
	o.mu.Unlock()
	f, err := os.OpenFile(o.journalName(key), os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	// The journal's entry must reach disk before the object does.
	if err == nil {
		err = syncDir(o.journal)
	}
	if err != nil {
		o.unhold(key, false)
		return fmt.Errorf("publish: journaling %s: %w", key, err)
	}
	return nil
}

// unhold ends one hold of key; the journal entry goes with the last one
// when forget (the record naming it is written, or the object is gone).
func (o *objects) unhold(key string, forget bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.held[key]--
	if o.held[key] > 0 {
		return
	}
	delete(o.held, key)
	if forget {
		_ = os.Remove(o.journalName(key))
	}
}

func (o *objects) inFlight(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held[key] > 0
}

// release deletes key from the store unless a live track names it (by URL,
// or for audio by sha256) or a publish in flight holds it. It reports
// whether the object was deleted.
func (o *objects) release(ctx context.Context, key string) (bool, error) {
	k, err := storage.ParseKey(key)
	if err != nil {
		return false, err
	}
	sha := ""
	if k.Prefix() == "audio" {
		sha = k.SHA256()
	}
	if o.inFlight(key) {
		return false, nil
	}
	used, err := o.ledger.ObjectReferenced(ctx, o.media.URL(key), sha)
	if err != nil || used {
		return false, err
	}
	if err := o.media.Delete(ctx, key); err != nil {
		return false, fmt.Errorf("publish: deleting %s: %w", key, err)
	}
	return true, nil
}

// Sweep deletes the objects of the journal older than age that no live
// track names: what a crash between a Put and the PDS's answer left
// behind. An hour is long enough for the firehose's copy of a record the
// PDS did write to be indexed. It answers how many objects it deleted.
func (p *Publisher) Sweep(ctx context.Context, age time.Duration) (int, error) {
	o := p.objs
	entries, err := os.ReadDir(o.journal)
	if err != nil {
		return 0, fmt.Errorf("publish: reading %s: %w", o.journal, err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if time.Since(info.ModTime()) < age {
			continue
		}
		prefix, rest, ok := strings.Cut(e.Name(), "-")
		key := prefix + "/" + rest
		if _, err := storage.ParseKey(key); !ok || err != nil {
			_ = os.Remove(filepath.Join(o.journal, e.Name()))
			continue
		}
		if o.inFlight(key) {
			continue
		}
		deleted, err := o.release(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if deleted {
			n++
			p.log.Info("publish: swept an object no track names", "key", key)
		}
		_ = os.Remove(filepath.Join(o.journal, e.Name()))
	}
	return n, errors.Join(errs...)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// forget removes key from the journal.
func (o *objects) forget(key string) { _ = os.Remove(o.journalName(key)) }
