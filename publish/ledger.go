package publish

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Ledger is what publish reads and writes of the store (sqlite.Store): the
// uploads of the hourly limits, and whether a live track still names an
// object. ReserveUpload runs admit inside the transaction that reads the
// window and inserts the upload, so a check and its insert are atomic.
type Ledger interface {
	// ReserveUpload shows admit did's uploads within window before now
	// (oldest first) and, if admit returns nil and size > 0, records the
	// upload; admit's error comes back unwrapped. The id is for
	// ReleaseUpload.
	ReserveUpload(ctx context.Context, did string, now time.Time, size int64, window time.Duration, admit func(at []time.Time, bytes []int64) error) (int64, error)
	// ReleaseUpload forgets a reservation (0 is no error).
	ReleaseUpload(ctx context.Context, id int64) error
	// ObjectReferenced: a live track names objURL as its audio or image,
	// or (sha not empty) carries sha as its audioSha256.
	ObjectReferenced(ctx context.Context, objURL, sha string) (bool, error)
	// TrackMedia is the audio and image URLs of a live track; ok false
	// when there is none.
	TrackMedia(ctx context.Context, did, collection, rkey string) (audioURL, imageURL string, ok bool, err error)
}

// Limits are the per-user bounds over a sliding window.
type Limits struct {
	Uploads int
	Bytes   int64
	Window  time.Duration
}

// ErrRateLimited is reserve's error past a limit; RetryAfter says when to
// try again.
type ErrRateLimited struct {
	RetryAfter time.Duration
	What       string
}

func (e *ErrRateLimited) Error() string {
	return fmt.Sprintf("%s; try again in %d s", e.What, retrySeconds(e.RetryAfter))
}

func retrySeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// reserve counts an upload of size bytes by did at now, unless it would
// cross lim within the window: then it is an *ErrRateLimited, whose
// RetryAfter is when enough of the window's oldest uploads leave it. size 0
// checks the count only and records nothing. The check and the insert are
// one transaction (Ledger.ReserveUpload), so concurrent uploads of one user
// cannot both pass the last place. The returned id releases the
// reservation (Ledger.ReleaseUpload).
func reserve(ctx context.Context, l Ledger, did string, now time.Time, size int64, lim Limits) (int64, error) {
	id, err := l.ReserveUpload(ctx, did, now, size, lim.Window, func(at []time.Time, bytes []int64) error {
		return admit(at, bytes, now, size, lim)
	})
	if err != nil {
		var rl *ErrRateLimited
		if errors.As(err, &rl) {
			return 0, err
		}
		return 0, fmt.Errorf("publish: reserving an upload: %w", err)
	}
	return id, nil
}

// admit is the limits' arithmetic over the window's uploads (at, bytes:
// oldest first): nil, or the *ErrRateLimited saying when to try again.
func admit(at []time.Time, bytes []int64, now time.Time, size int64, lim Limits) error {
	leaves := func(i int) time.Duration { return at[i].Add(lim.Window).Sub(now) }
	if len(at) >= lim.Uploads {
		// The place frees when the upload that many back leaves the window.
		return &ErrRateLimited{RetryAfter: leaves(len(at) - lim.Uploads), What: fmt.Sprintf("at most %d uploads an hour", lim.Uploads)}
	}
	var total int64
	for _, b := range bytes {
		total += b
	}
	if total+size > lim.Bytes {
		if size > lim.Bytes {
			return &ErrRateLimited{RetryAfter: lim.Window, What: fmt.Sprintf("at most %d MB an hour", lim.Bytes>>20)}
		}
		need := total + size - lim.Bytes
		for i, b := range bytes {
			need -= b
			if need <= 0 {
				return &ErrRateLimited{RetryAfter: leaves(i), What: fmt.Sprintf("at most %d MB an hour", lim.Bytes>>20)}
			}
		}
	}
	return nil
}
