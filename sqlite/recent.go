package sqlite

import (
	"container/list"
	"sync"
)

// recentCapacity bounds the accounts remembered without tracks. An entry is
// a DID, a handle and a status with the list and map overhead: 65536 entries
// measured 14.7 MB of heap (did:plc, bsky.social handles). That covers hours
// of the network's identity and account events, the time between an
// account's creation (or a status change) and its first track in the common
// case.
const recentCapacity = 1 << 16

// accountState is what identity and account events said of an account the
// store holds no row for.
type accountState struct {
	hasStatus bool // an account event was seen
	active    bool
	status    string
	handle    string // "" when no identity event carried one
}

// recentAccounts remembers, in memory and bounded, the latest account state
// of accounts without tracks, so that their first track, in a later batch,
// starts with the status and handle the network last announced. It is never
// persisted: after a restart the replayed window of jetstream refills it,
// and the handle resolver covers what it no longer holds.
type recentAccounts struct {
	mu    sync.Mutex
	cap   int
	order *list.List // front: most recent; values are *recentEntry
	byDID map[string]*list.Element
}

type recentEntry struct {
	did string
	st  accountState
}

func newRecentAccounts(capacity int) *recentAccounts {
	return &recentAccounts{cap: capacity, order: list.New(), byDID: map[string]*list.Element{}}
}

// put stores st as the account's latest state, evicting the least recently
// updated account when full.
func (r *recentAccounts) put(did string, st accountState) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byDID[did]; ok {
		el.Value.(*recentEntry).st = st
		r.order.MoveToFront(el)
		return
	}
	r.byDID[did] = r.order.PushFront(&recentEntry{did: did, st: st})
	for r.order.Len() > r.cap {
		old := r.order.Back()
		r.order.Remove(old)
		delete(r.byDID, old.Value.(*recentEntry).did)
	}
}

func (r *recentAccounts) get(did string) (accountState, bool) {
	if r == nil {
		return accountState{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.byDID[did]
	if !ok {
		return accountState{}, false
	}
	return el.Value.(*recentEntry).st, true
}

// drop forgets an account that now has a row.
func (r *recentAccounts) drop(did string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byDID[did]; ok {
		r.order.Remove(el)
		delete(r.byDID, did)
	}
}

func (r *recentAccounts) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}
