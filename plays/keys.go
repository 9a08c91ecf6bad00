package plays

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// ListenerID is who a listener is for one UTC day: HMAC-SHA256 of the
// client address under that day's key. The key is random, held in memory
// only and replaced at each UTC midnight (or restart), so an ID says nothing
// about the address, and nothing links one day's IDs to the next.
type ListenerID [sha256.Size]byte

// Keys hands out the day's key. Safe for concurrent use.
type Keys struct {
	mu  sync.Mutex
	day int64 // unix days (UTC) of key
	key [32]byte
	// read is the random source (crypto/rand; a test may replace it).
	read func([]byte) (int, error)
}

// NewKeys returns Keys whose first key is made at first use.
func NewKeys() *Keys { return &Keys{day: -1, read: rand.Read} }

// ID is the listener ID of the address at now.
func (k *Keys) ID(addr []byte, now time.Time) ListenerID {
	key := k.keyFor(now)
	m := hmac.New(sha256.New, key[:])
	m.Write(addr)
	var id ListenerID
	m.Sum(id[:0])
	return id
}

func (k *Keys) keyFor(now time.Time) [32]byte {
	day := now.UTC().Unix() / 86400
	k.mu.Lock()
	defer k.mu.Unlock()
	if day != k.day {
		if _, err := k.read(k.key[:]); err != nil {
			// crypto/rand does not fail on supported systems (Go 1.24+
			// crashes rather than return an error).
			panic("plays: no randomness for the listener key: " + err.Error())
		}
		k.day = day
	}
	return k.key
}
