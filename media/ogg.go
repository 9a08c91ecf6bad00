package media

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// No maintained Go library reads an Ogg stream's length without decoding
// it (github.com/jfreymuth/oggvorbis decodes Vorbis only), and the page
// header is 27 bytes plus a lacing table: we read it ourselves.

const (
	pageHeader = 27
	pageBOS    = 0x02
	maxPage    = pageHeader + 255 + 255*255
)

type page struct {
	flags   byte
	granule uint64
	serial  uint32
	nsegs   int
	length  int // header, lacing table and body
}

// parsePage parses the page at the start of b (which holds at least its
// header and lacing table) and checks its CRC when b holds the whole page.
func parsePage(b []byte) (page, error) {
	if len(b) < pageHeader || string(b[:4]) != "OggS" {
		return page{}, errors.New("no page header")
	}
	if b[4] != 0 {
		return page{}, errors.New("unknown page version")
	}
	p := page{
		flags:   b[5],
		granule: binary.LittleEndian.Uint64(b[6:]),
		serial:  binary.LittleEndian.Uint32(b[14:]),
		nsegs:   int(b[26]),
	}
	if len(b) < pageHeader+p.nsegs {
		return page{}, errors.New("page header cut short")
	}
	p.length = pageHeader + p.nsegs
	for _, l := range b[pageHeader : pageHeader+p.nsegs] {
		p.length += int(l)
	}
	if len(b) >= p.length && oggCRC(b[:p.length]) != binary.LittleEndian.Uint32(b[22:]) {
		return page{}, errors.New("page crc mismatch")
	}
	return p, nil
}

// firstPacket is the start of the first packet on the page (all of it that
// b holds up to the first lacing value under 255).
func (p page) firstPacket(b []byte) []byte {
	n := 0
	for _, l := range b[pageHeader : pageHeader+p.nsegs] {
		n += int(l)
		if l < 255 {
			break
		}
	}
	start := pageHeader + p.nsegs
	return b[start:min(start+n, len(b))]
}

// oggDuration is the granule position of the stream's last page over the
// sample rate of its identification header (Opus: always 48 kHz, less the
// pre-skip). The last page is looked for back from the end, MaxOggTail at
// most, and only a page whose CRC checks counts: the bytes "OggS" inside
// audio data are not a page.
func oggDuration(s *src, f Format) (int64, error) {
	// The first page: its header and lacing table, then the whole of it.
	first := make([]byte, min(s.size, pageHeader+255))
	if err := s.full(first, 0); err != nil {
		return 0, readErr("ogg", err)
	}
	p, err := parsePage(first)
	if err != nil {
		return 0, invalid("ogg: first page: %v", err)
	}
	if int64(p.length) > s.size {
		return 0, invalid("ogg: file is truncated")
	}
	first = make([]byte, p.length)
	if err := s.full(first, 0); err != nil {
		return 0, readErr("ogg", err)
	}
	if p, err = parsePage(first); err != nil {
		return 0, invalid("ogg: first page: %v", err)
	}
	id := p.firstPacket(first)
	var rate, preskip uint64
	switch f.Codec {
	case "vorbis":
		// "\x01vorbis", version (4), channels (1), rate (4), ...
		if len(id) < 16 {
			return 0, invalid("ogg: vorbis identification header cut short")
		}
		rate = uint64(binary.LittleEndian.Uint32(id[12:]))
	case "opus":
		// "OpusHead", version (1), channels (1), pre-skip (2), ...
		if len(id) < 19 {
			return 0, invalid("ogg: opus identification header cut short")
		}
		rate = 48000 // the granule position of Opus always counts at 48 kHz
		preskip = uint64(binary.LittleEndian.Uint16(id[10:]))
	default:
		return 0, invalid("ogg: codec %q", f.Codec)
	}

	last, at, err := lastGranule(s, p.serial)
	if err != nil {
		return 0, err
	}
	if at == 0 || last == 0 {
		return 0, invalid("ogg: no audio pages")
	}
	if last < preskip {
		return 0, invalid("ogg: last granule position %d before the pre-skip %d", last, preskip)
	}
	return seconds("ogg", last-preskip, rate)
}

// lastGranule finds the last page of stream serial with a granule position
// (a page on which no packet ends carries -1), reading back from the end in
// windows that overlap by a page; and the page's offset.
func lastGranule(s *src, serial uint32) (uint64, int64, error) {
	const window = 128 << 10
	buf := make([]byte, min(window, s.size))
	for end := s.size; end > 0 && s.size-end < MaxOggTail; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if err := s.full(b, start); err != nil {
			return 0, 0, readErr("ogg", err)
		}
		for i := bytes.LastIndex(b, []byte("OggS")); i >= 0; i = bytes.LastIndex(b[:i], []byte("OggS")) {
			// A page cut by the window's end is seen whole in the next.
			p, err := parsePage(b[i:])
			if err != nil || p.length > len(b)-i {
				continue
			}
			if p.serial == serial && p.granule != ^uint64(0) {
				if p.granule > 1<<62 {
					return 0, 0, invalid("ogg: granule position out of range")
				}
				return p.granule, start + int64(i), nil
			}
		}
		if start == 0 {
			break
		}
		end = start + maxPage
		if end >= start+int64(len(b)) {
			break
		}
	}
	return 0, 0, invalid("ogg: no final page of the stream in the last %d bytes", MaxOggTail)
}

var oggTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// oggCRC is the page checksum: CRC-32, polynomial 0x04c11db7, not
// reflected, over the page with its CRC field taken as zero.
func oggCRC(b []byte) uint32 {
	var crc uint32
	for i, c := range b {
		if i >= 22 && i < 26 {
			c = 0
		}
		crc = crc<<8 ^ oggTable[byte(crc>>24)^c]
	}
	return crc
}
