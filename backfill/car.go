package backfill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// Why not indigo's repo.LoadRepoFromCAR: it follows an MST child link again
// for every parent that names it and never looks at its context, so a CAR
// whose levels each link twice to the level below costs 2^depth (4 KB at
// depth 18 took 277 MB); its CAR reader allocates a section's declared
// length (up to 32 MiB) before reading it, checks no block against its CID,
// and it skips missing subtrees, which would make a snapshot delete tracks
// that are merely absent from the CAR. The fix belongs in indigo; until
// then this loader bounds the cost by the CAR's size.

// DefaultMaxRepoBytes caps one repo's CAR: the repo is held in memory whole
// (at most about twice this, with the block index) and Concurrency of them
// load at once, so 8 × 64 MiB fits a small machine. A repo over the cap
// fails with its size in the error and stays listed for an operator.
const DefaultMaxRepoBytes = 64 << 20

const (
	// maxBlockBytes caps one block; atproto records are at most 1 MiB and
	// MST nodes are far smaller.
	maxBlockBytes = 2 << 20
	// maxHeaderBytes caps the CAR header (a version and a root or two).
	maxHeaderBytes = 64 << 10
	// bytesPerBlock sets the block cap from the byte cap: the map costs
	// about 100 bytes a block beyond its data, so tiny blocks cannot
	// multiply memory by much more than two.
	bytesPerBlock = 128
	// defaultMaxMSTDepth is far past any real tree: a key's height is the
	// count of leading zero bit pairs of its SHA-256, so depth 32 needs
	// about 4^32 keys.
	defaultMaxMSTDepth = 32
)

// Reasons a CAR is refused.
var (
	errRepoTooBig    = errors.New("repo over the size cap")
	errTooManyBlocks = errors.New("repo over the block cap")
	errBadCAR        = errors.New("malformed CAR")
	errBadBlock      = errors.New("block does not match its CID")
	errMSTShared     = errors.New("MST node reached twice")
	errMSTDepth      = errors.New("MST deeper than the cap")
	errMSTMissing    = errors.New("MST node missing from the CAR")
	errMSTBad        = errors.New("malformed MST node")
	errMSTOrder      = errors.New("MST keys out of order")
)

// repoLimits bound what loading one repo may cost.
type repoLimits struct {
	maxBytes  int64 // the whole CAR as read
	maxBlocks int   // blocks kept, and so MST nodes walked
	maxDepth  int   // MST levels below the root
}

func limitsFor(maxBytes int64) repoLimits {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRepoBytes
	}
	return repoLimits{maxBytes: maxBytes, maxBlocks: int(maxBytes/bytesPerBlock) + 16, maxDepth: defaultMaxMSTDepth}
}

// carRepo is a repo read from a CAR: its commit (not yet checked against
// any key) and its blocks, each verified against its CID.
type carRepo struct {
	commit *repo.Commit
	blocks map[string][]byte // by cid.KeyString
	lim    repoLimits
}

// loadCAR reads a CAR v1 stream into memory within lim and decodes the
// commit named by its first root. Memory is bounded by lim.maxBytes and
// lim.maxBlocks whatever the stream says.
func loadCAR(ctx context.Context, r io.Reader, lim repoLimits) (*carRepo, error) {
	cr := &carReader{br: bufio.NewReader(io.LimitReader(r, lim.maxBytes+1)), left: lim.maxBytes, max: lim.maxBytes}
	hdr, err := cr.section(maxHeaderBytes)
	if err != nil {
		return nil, fmt.Errorf("reading CAR header: %w", err)
	}
	root, err := carRoot(hdr)
	if err != nil {
		return nil, err
	}
	cr2 := &carRepo{blocks: map[string][]byte{}, lim: lim}
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		sec, err := cr.section(maxBlockBytes)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading CAR block %d: %w", n, err)
		}
		if len(cr2.blocks) >= lim.maxBlocks {
			return nil, fmt.Errorf("%w of %d blocks", errTooManyBlocks, lim.maxBlocks)
		}
		k, data, err := verifiedBlock(sec)
		if err != nil {
			return nil, fmt.Errorf("CAR block %d: %w", n, err)
		}
		cr2.blocks[k] = data
	}
	raw, ok := cr2.blocks[root.KeyString()]
	if !ok {
		return nil, fmt.Errorf("%w: commit block %s not in the CAR", errBadCAR, root)
	}
	var commit repo.Commit
	if err := commit.UnmarshalCBOR(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("parsing commit block: %w", err)
	}
	if err := commit.VerifyStructure(); err != nil {
		return nil, fmt.Errorf("checking commit block: %w", err)
	}
	cr2.commit = &commit
	return cr2, nil
}

// carReader reads length-prefixed CAR sections, refusing any that would
// take the stream past its byte budget before allocating for it.
type carReader struct {
	br   *bufio.Reader
	left int64 // of the byte cap
	max  int64 // the byte cap
}

func (cr *carReader) section(max int) ([]byte, error) {
	l, err := binary.ReadUvarint(cr.br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: section length: %v", errBadCAR, err)
	}
	cr.left -= int64(uvarintLen(l))
	switch {
	case cr.left < 0 || l > uint64(cr.left):
		return nil, fmt.Errorf("%w of %d bytes", errRepoTooBig, cr.max)
	case l == 0:
		return nil, fmt.Errorf("%w: empty section", errBadCAR)
	case l > uint64(max):
		return nil, fmt.Errorf("%w: section of %d bytes, over %d", errBadCAR, l, max)
	}
	buf := make([]byte, l)
	if _, err := io.ReadFull(cr.br, buf); err != nil {
		return nil, fmt.Errorf("%w: section cut short: %v", errBadCAR, err)
	}
	cr.left -= int64(l)
	return buf, nil
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// carRoot decodes a CAR v1 header and returns its first root.
func carRoot(hdr []byte) (cid.Cid, error) {
	m, err := atdata.UnmarshalCBOR(hdr)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: header: %v", errBadCAR, err)
	}
	if v, _ := m["version"].(int64); v != 1 {
		return cid.Undef, fmt.Errorf("%w: version %v, want 1", errBadCAR, m["version"])
	}
	roots, _ := m["roots"].([]any)
	if len(roots) == 0 {
		return cid.Undef, fmt.Errorf("%w: no root", errBadCAR)
	}
	l, ok := roots[0].(atdata.CIDLink)
	if !ok || !l.IsDefined() {
		return cid.Undef, fmt.Errorf("%w: root is not a CID", errBadCAR)
	}
	return l.CID(), nil
}

// verifiedBlock splits a section into its CID and data and checks the data
// hashes to the CID: the signed commit names the MST root by CID, and that
// binds the records only if every block is checked.
func verifiedBlock(sec []byte) (string, []byte, error) {
	n, c, err := cid.CidFromBytes(sec)
	if err != nil {
		return "", nil, fmt.Errorf("%w: bad CID: %v", errBadCAR, err)
	}
	p := c.Prefix()
	if p.MhType != multihash.SHA2_256 || (p.Codec != cid.DagCBOR && p.Codec != cid.Raw) {
		return "", nil, fmt.Errorf("%w: CID %s is not sha-256 dag-cbor or raw", errBadBlock, c)
	}
	data := sec[n:]
	sum, err := p.Sum(data)
	if err != nil || !sum.Equals(c) {
		return "", nil, fmt.Errorf("%w: %s", errBadBlock, c)
	}
	return c.KeyString(), data, nil
}

// record returns a block's bytes.
func (cr *carRepo) record(c cid.Cid) ([]byte, bool) {
	b, ok := cr.blocks[c.KeyString()]
	return b, ok
}

// walk calls fn for every key of the MST under the commit's data root, in
// key order. Each node is decoded at most once (one reached twice is
// refused: a real MST has no shared subtree, since its keys are unique),
// the depth is capped, the keys must increase, and ctx is checked at every
// node, so the walk costs at most the CAR's blocks.
func (cr *carRepo) walk(ctx context.Context, fn func(key string, val cid.Cid) error) error {
	w := &mstWalk{ctx: ctx, cr: cr, seen: map[string]struct{}{}, fn: fn}
	return w.node(cr.commit.Data, 0)
}

type mstWalk struct {
	ctx     context.Context
	cr      *carRepo
	seen    map[string]struct{}
	lastKey []byte
	started bool
	fn      func(key string, val cid.Cid) error
}

func (w *mstWalk) node(c cid.Cid, depth int) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if depth > w.cr.lim.maxDepth {
		return fmt.Errorf("%w of %d", errMSTDepth, w.cr.lim.maxDepth)
	}
	k := c.KeyString()
	if _, ok := w.seen[k]; ok {
		return fmt.Errorf("%w: %s", errMSTShared, c)
	}
	w.seen[k] = struct{}{}
	raw, ok := w.cr.blocks[k]
	if !ok {
		return fmt.Errorf("%w: %s", errMSTMissing, c)
	}
	nd, err := mst.NodeDataFromCBOR(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%w %s: %v", errMSTBad, c, err)
	}
	if nd.Left != nil {
		if err := w.node(*nd.Left, depth+1); err != nil {
			return err
		}
	}
	var prev []byte
	for i, e := range nd.Entries {
		// indigo's NodeData.Node slices prevKey[:PrefixLen] unchecked: a
		// hostile prefix length would panic there.
		if e.PrefixLen < 0 || e.PrefixLen > int64(len(prev)) {
			return fmt.Errorf("%w %s: entry %d prefix length %d", errMSTBad, c, i, e.PrefixLen)
		}
		key := make([]byte, 0, int(e.PrefixLen)+len(e.KeySuffix))
		key = append(append(key, prev[:e.PrefixLen]...), e.KeySuffix...)
		if !mst.IsValidKey(key) {
			return fmt.Errorf("%w %s: entry %d key of %d bytes", errMSTBad, c, i, len(key))
		}
		if w.started && bytes.Compare(key, w.lastKey) <= 0 {
			return fmt.Errorf("%w: %q after %q", errMSTOrder, key, w.lastKey)
		}
		w.lastKey, w.started = key, true
		prev = key
		if err := w.fn(string(key), e.Value); err != nil {
			return err
		}
		if e.Right != nil {
			if err := w.node(*e.Right, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
