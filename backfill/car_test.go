package backfill

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	blockstore "github.com/ipfs/go-ipfs-blockstore"
	"github.com/ipld/go-car"
	carutil "github.com/ipld/go-car/util"
	"github.com/multiformats/go-multihash"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/validate"
)

// testCAR assembles CARs from blocks, written with go-car as a PDS would.
type testCAR struct {
	t      testing.TB
	blocks []rawBlock
}

type rawBlock struct {
	c    cid.Cid
	data []byte
}

func (tc *testCAR) add(data []byte) cid.Cid {
	c, err := cid.NewPrefixV1(cid.DagCBOR, multihash.SHA2_256).Sum(data)
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.blocks = append(tc.blocks, rawBlock{c, data})
	return c
}

func (tc *testCAR) record(v map[string]any) cid.Cid {
	b, err := atdata.MarshalCBOR(v)
	if err != nil {
		tc.t.Fatal(err)
	}
	return tc.add(b)
}

func (tc *testCAR) node(nd mst.NodeData) cid.Cid {
	b, _, err := nd.Bytes()
	if err != nil {
		tc.t.Fatal(err)
	}
	return tc.add(b)
}

// commit signs a commit of did over data with key, adds it and returns the
// CAR bytes with the commit as root.
func (tc *testCAR) commit(did string, data cid.Cid, key atcrypto.PrivateKey) []byte {
	c := repo.Commit{DID: did, Version: repo.ATPROTO_REPO_VERSION, Data: data, Rev: syntax.NewTIDNow(0).String()}
	if err := c.Sign(key); err != nil {
		tc.t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.MarshalCBOR(&buf); err != nil {
		tc.t.Fatal(err)
	}
	root := tc.add(buf.Bytes())
	var out bytes.Buffer
	if err := car.WriteHeader(&car.CarHeader{Roots: []cid.Cid{root}, Version: 1}, &out); err != nil {
		tc.t.Fatal(err)
	}
	// The commit first, as getRepo sends it; the order does not matter to
	// the loader.
	blocks := append([]rawBlock{tc.blocks[len(tc.blocks)-1]}, tc.blocks[:len(tc.blocks)-1]...)
	for _, b := range blocks {
		if err := carutil.LdWrite(&out, b.c.Bytes(), b.data); err != nil {
			tc.t.Fatal(err)
		}
	}
	return out.Bytes()
}

func testKey(t testing.TB) atcrypto.PrivateKey {
	k, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const testDID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"

// validCAR is a real repo built with indigo's MST: n tracks and a post.
func validCAR(t testing.TB, key atcrypto.PrivateKey, n int) ([]byte, map[string]string) {
	tc := &testCAR{t: t}
	tree := mst.NewEmptyTree()
	want := map[string]string{}
	for i := range n {
		title := fmt.Sprintf("track %d", i)
		c := tc.record(map[string]any{"$type": "app.relay.track", "title": title})
		k := "app.relay.track/" + syntax.NewTIDFromInteger(uint64(1700000000000000+i)<<10).String()
		if _, err := tree.Insert([]byte(k), c); err != nil {
			t.Fatal(err)
		}
		want[k] = title
	}
	post := tc.record(map[string]any{"$type": "app.bsky.feed.post", "text": "hi"})
	if _, err := tree.Insert([]byte("app.bsky.feed.post/3kaaaaaaaaaaa"), post); err != nil {
		t.Fatal(err)
	}
	want["app.bsky.feed.post/3kaaaaaaaaaaa"] = ""
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	root, err := tree.WriteDiffBlocks(context.Background(), bs)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := bs.AllKeysChan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		b, err := bs.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		tc.add(b.RawData())
	}
	return tc.commit(testDID, *root, key), want
}

// sharedCAR is the hostile repo of the issue: each of depth levels names
// the level below twice (as its left subtree and as its entry's right), so
// a loader that follows links per parent does 2^depth work on a file of
// ~200 bytes a level.
func sharedCAR(t testing.TB, key atcrypto.PrivateKey, depth int) []byte {
	tc := &testCAR{t: t}
	rec := tc.record(map[string]any{"$type": "app.relay.track", "title": "x"})
	below := tc.node(mst.NodeData{Entries: []mst.EntryData{{KeySuffix: []byte("app.relay.track/3kaaaaaaaaaaa"), Value: rec}}})
	for i := range depth {
		l := below
		below = tc.node(mst.NodeData{Left: &l, Entries: []mst.EntryData{{KeySuffix: fmt.Appendf(nil, "app.relay.track/3kbbbbbbbb%03d", i), Value: rec, Right: &l}}})
	}
	return tc.commit(testDID, below, key)
}

// chainCAR is a tree of distinct nodes, one per level, depth levels deep.
func chainCAR(t testing.TB, key atcrypto.PrivateKey, depth int) []byte {
	tc := &testCAR{t: t}
	rec := tc.record(map[string]any{"$type": "app.relay.track", "title": "x"})
	below := tc.node(mst.NodeData{Entries: []mst.EntryData{{KeySuffix: []byte("a/0000"), Value: rec}}})
	for i := 1; i < depth; i++ {
		l := below
		below = tc.node(mst.NodeData{Left: &l, Entries: []mst.EntryData{{KeySuffix: fmt.Appendf(nil, "a/%04d", i), Value: rec}}})
	}
	return tc.commit(testDID, below, key)
}

// claim is the header of car followed by a section that declares n bytes
// and holds none.
func claim(car []byte, n uint64) []byte {
	hl, k := binary.Uvarint(car)
	out := bytes.Clone(car[:k+int(hl)])
	return binary.AppendUvarint(out, n)
}

func walkAll(ctx context.Context, b []byte, lim repoLimits) (map[string]cid.Cid, error) {
	cr, err := loadCAR(ctx, bytes.NewReader(b), lim)
	if err != nil {
		return nil, err
	}
	got := map[string]cid.Cid{}
	err = cr.walk(ctx, func(k string, v cid.Cid) error {
		if _, ok := cr.record(v); !ok {
			return fmt.Errorf("record %s of %s not in the CAR", v, k)
		}
		got[k] = v
		return nil
	})
	return got, err
}

func TestLoadCARValid(t *testing.T) {
	key := testKey(t)
	b, want := validCAR(t, key, 300)
	cr, err := loadCAR(context.Background(), bytes.NewReader(b), limitsFor(0))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey()
	if err := cr.commit.VerifySignature(pub); err != nil {
		t.Fatalf("signature: %v", err)
	}
	got, err := walkAll(context.Background(), b, limitsFor(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("walked %d keys, want %d", len(got), len(want))
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("key %s not walked", k)
		}
	}
	// The same keys and values as indigo's own loader finds.
	_, r, err := repo.LoadRepoFromCAR(context.Background(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := r.MST.Walk(func(k []byte, v cid.Cid) error {
		n++
		if !got[string(k)].Equals(v) {
			return fmt.Errorf("%s: indigo has %s, we have %s", k, v, got[string(k)])
		}
		return nil
	}); err != nil || n != len(got) {
		t.Fatalf("against indigo: %v (%d keys, we have %d)", err, n, len(got))
	}
}

// TestLoadCARRefuses holds the loader's bounds: each hostile CAR is refused
// for its reason, quickly, and within a small fraction of memory.
func TestLoadCARRefuses(t *testing.T) {
	key := testKey(t)
	valid, _ := validCAR(t, key, 50)
	tamper := bytes.Clone(valid)
	tamper[len(tamper)-3] ^= 0xff // inside the last block's data
	for _, tc := range []struct {
		name string
		car  []byte
		lim  repoLimits
		want error
	}{
		{"shared subtrees, depth 25", sharedCAR(t, key, 25), limitsFor(0), errMSTShared},
		// Deeper than the cap, the depth check comes first (left first).
		{"shared subtrees, depth 60", sharedCAR(t, key, 60), limitsFor(0), errMSTDepth},
		{"chain past the depth cap", chainCAR(t, key, 40), limitsFor(0), errMSTDepth},
		{"over the byte cap", valid, limitsFor(int64(len(valid) - 1)), errRepoTooBig},
		{"over the block cap", valid, repoLimits{maxBytes: 1 << 20, maxBlocks: 10, maxDepth: 32}, errTooManyBlocks},
		{"block not matching its CID", tamper, limitsFor(0), errBadBlock},
		// A declared length is refused before anything is allocated for it.
		{"section declared past the byte cap", claim(valid, 60<<20), limitsFor(1 << 20), errRepoTooBig},
		{"section declared past the block cap", claim(valid, 3<<20), limitsFor(0), errBadCAR},
		{"cut short", valid[:len(valid)-5], limitsFor(0), errBadCAR},
		{"not a CAR", []byte("\x05hello"), limitsFor(0), errBadCAR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := walkAll(ctx, tc.car, tc.lim)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte CAR refused in %s, %d bytes allocated: %v", len(tc.car), took, alloc, err)
			if took > time.Second || alloc > 4<<20 {
				t.Errorf("refusal took %s and %d bytes", took, alloc)
			}
		})
	}
}

// TestLoadCARKeyOrder: keys out of order (here a node whose right subtree
// holds a smaller key) are refused; a snapshot must not hold one key twice.
func TestLoadCARKeyOrder(t *testing.T) {
	tc := &testCAR{t: t}
	rec := tc.record(map[string]any{"a": "b"})
	low := tc.node(mst.NodeData{Entries: []mst.EntryData{{KeySuffix: []byte("a/1"), Value: rec}}})
	root := tc.node(mst.NodeData{Entries: []mst.EntryData{{KeySuffix: []byte("a/2"), Value: rec, Right: &low}}})
	_, err := walkAll(context.Background(), tc.commit(testDID, root, testKey(t)), limitsFor(0))
	if !errors.Is(err, errMSTOrder) {
		t.Fatalf("err = %v, want %v", err, errMSTOrder)
	}
	// A prefix length past the previous key panics indigo's decoder.
	tc = &testCAR{t: t}
	rec = tc.record(map[string]any{"a": "b"})
	root = tc.node(mst.NodeData{Entries: []mst.EntryData{{KeySuffix: []byte("a/1"), Value: rec}, {PrefixLen: 9, KeySuffix: []byte("2"), Value: rec}}})
	_, err = walkAll(context.Background(), tc.commit(testDID, root, testKey(t)), limitsFor(0))
	if !errors.Is(err, errMSTBad) {
		t.Fatalf("err = %v, want %v", err, errMSTBad)
	}
}

// TestLoadCARContext: a cancelled context stops the load.
func TestLoadCARContext(t *testing.T) {
	b, _ := validCAR(t, testKey(t), 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := walkAll(ctx, b, limitsFor(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// FuzzLoadRepo: no input panics the loader, and whatever it accepts walks
// in strictly increasing key order within its block cap.
func FuzzLoadRepo(f *testing.F) {
	key := testKey(f)
	valid, _ := validCAR(f, key, 5)
	f.Add(valid)
	f.Add(sharedCAR(f, key, 25))
	f.Add(chainCAR(f, key, 40))
	lim := repoLimits{maxBytes: 1 << 20, maxBlocks: 4096, maxDepth: 32}
	f.Fuzz(func(t *testing.T, b []byte) {
		cr, err := loadCAR(context.Background(), bytes.NewReader(b), lim)
		if err != nil {
			return
		}
		var last string
		n := 0
		_ = cr.walk(context.Background(), func(k string, v cid.Cid) error {
			if n > 0 && strings.Compare(k, last) <= 0 {
				t.Fatalf("key %q after %q", k, last)
			}
			last = k
			n++
			return nil
		})
		if len(cr.blocks) > lim.maxBlocks {
			t.Fatalf("%d blocks kept, cap %d", len(cr.blocks), lim.maxBlocks)
		}
	})
}

// TestReadTrackBounds: a record block over validate.MaxRecordBytes is
// refused as record_too_large before it is decoded (a 2 MiB block of
// nested arrays would otherwise reach the CBOR decoder, which recurses
// without a bound); one at the cap is decoded and judged by validate.
func TestReadTrackBounds(t *testing.T) {
	did := syntax.DID("did:plc:bounds")
	for _, tc := range []struct {
		name   string
		block  []byte
		reason string
	}{
		{"deep arrays over the cap", bytes.Repeat([]byte{0x81}, validate.MaxRecordBytes+1), validate.ReasonTooLarge},
		{"deep arrays at the cap", bytes.Repeat([]byte{0x81}, validate.MaxRecordBytes), validate.ReasonInvalidRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := cid.NewPrefixV1(cid.DagCBOR, multihash.SHA2_256).Sum(tc.block)
			if err != nil {
				t.Fatal(err)
			}
			r := &carRepo{blocks: map[string][]byte{c.KeyString(): tc.block}}
			_, err = readTrack(r, did, relay.TrackCollection, "3lqk7lk5g2423", c, "3lqk7lk5g2424")
			var rej *validate.RejectError
			if !errors.As(err, &rej) || rej.Reason != tc.reason {
				t.Fatalf("readTrack = %v, want a %s rejection", err, tc.reason)
			}
		})
	}
}
