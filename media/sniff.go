package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"
)

// Format is what Sniff decides an audio file is.
type Format struct {
	// FileType is the app.relay.track fileType (one of its knownValues).
	FileType string
	// Ext is the extension of the object key, without the dot.
	Ext string
	// MIME is the content type the file is served with.
	MIME string
	// Codec tells the two kinds of Ogg apart ("vorbis", "opus"); empty for
	// the other formats.
	Codec string
}

// The formats relay takes, the only values Sniff returns.
var (
	MP3       = Format{FileType: "mp3", Ext: "mp3", MIME: "audio/mpeg"}
	WAV       = Format{FileType: "wav", Ext: "wav", MIME: "audio/wav"}
	OggVorbis = Format{FileType: "ogg", Ext: "ogg", MIME: "audio/ogg", Codec: "vorbis"}
	OggOpus   = Format{FileType: "ogg", Ext: "opus", MIME: "audio/ogg", Codec: "opus"}
	FLAC      = Format{FileType: "flac", Ext: "flac", MIME: "audio/flac"}
	M4A       = Format{FileType: "m4a", Ext: "m4a", MIME: "audio/mp4"}
)

// SniffBytes is how much of the head of a file Sniff reads at once; an
// ID3v2 tag (which may hold megabytes of cover art) is jumped over, not read.
const SniffBytes = 4096

const taken = "relay takes mp3, wav, ogg (vorbis or opus), flac and m4a"

// Sniff tells from the content of a file (never its name) which audio format
// it is. A file of any other kind is an ErrUnsupported whose message names
// what it looks like and is fit to pass to the client; a file that starts as
// a format relay takes but cannot be one is ErrInvalid.
//
// r holds size bytes (an upload spooled to a temporary file); Sniff reads
// the head, the headers after ID3v2 tags and, for ISO BMFF, the box tree up
// to MaxHeaderBytes in all.
func Sniff(ctx context.Context, r io.ReaderAt, size int64) (Format, error) {
	if size < 0 {
		return Format{}, invalid("negative size %d", size)
	}
	s := newSrc(ctx, r, size, MaxHeaderBytes)
	head := make([]byte, min(size, SniffBytes))
	if err := s.full(head, 0); err != nil {
		return Format{}, readErr("sniff", err)
	}
	if len(head) == 0 {
		return Format{}, unsupported("empty file (%s)", taken)
	}

	// ID3v2 tags come before MP3 frames and, from some taggers, before fLaC.
	off, tags, err := skipID3(s, head)
	if err != nil {
		return Format{}, err
	}
	if tags > 0 {
		var after [4]byte
		if err := s.full(after[:], off); err != nil {
			return Format{}, invalid("id3 tag not followed by audio")
		}
		if string(after[:]) == "fLaC" {
			return FLAC, nil
		}
		if err := mp3Frames(s, off, MaxJunk); err != nil {
			return Format{}, invalid("id3 tag not followed by mpeg audio frames")
		}
		return MP3, nil
	}

	switch {
	case bytes.HasPrefix(head, []byte("fLaC")):
		return FLAC, nil
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		return WAV, nil
	case len(head) >= 12 && string(head[:4]) == "RIFF":
		return Format{}, unsupported("riff file of kind %s (%s)", fourCC(head[8:12]), taken)
	case bytes.HasPrefix(head, []byte("OggS")):
		return sniffOgg(head)
	case len(head) >= 8 && string(head[4:8]) == "ftyp":
		return sniffBMFF(s, head)
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		// A bare frame sync: two frames in a row, or the file is not MPEG audio.
		if err := mp3Frames(s, 0, 0); err != nil {
			return Format{}, unsupported("binary data that is not mpeg audio (%s)", taken)
		}
		return MP3, nil
	}
	return Format{}, unsupported("%s (%s)", describe(head), taken)
}

// describe names what a refused file looks like, from its magic numbers.
func describe(head []byte) string {
	magic := []struct {
		prefix, name string
	}{
		{"\x89PNG\r\n\x1a\n", "a png image"},
		{"\xff\xd8\xff", "a jpeg image"},
		{"GIF8", "a gif image"},
		{"%PDF", "a pdf document"},
		{"PK\x03\x04", "a zip archive"},
		{"\x1f\x8b", "a gzip archive"},
		{"\x7fELF", "an executable"},
		{"MZ", "an executable"},
		{"\x1a\x45\xdf\xa3", "a matroska/webm file"},
		{"FORM", "an aiff or iff file"},
		{".snd", "a sun au file"},
		{"MThd", "a midi file"},
		{"\x00\x00\x01\xba", "an mpeg program stream"},
		{"#!AMR", "an amr file"},
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.name
		}
	}
	if utf8.Valid(head[:utf8Prefix(head)]) && !bytes.ContainsRune(head, 0) {
		t := bytes.ToLower(bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"))
		switch {
		case bytes.HasPrefix(t, []byte("<!doctype html")), bytes.HasPrefix(t, []byte("<html")):
			return "html text"
		case bytes.HasPrefix(t, []byte("<?xml")), bytes.HasPrefix(t, []byte("<svg")):
			return "xml text"
		case bytes.HasPrefix(t, []byte("{")), bytes.HasPrefix(t, []byte("[")):
			return "json text"
		}
		return "plain text"
	}
	return "unknown binary data"
}

// utf8Prefix is len(head) less a rune the SniffBytes cut may have split.
func utf8Prefix(head []byte) int {
	n := len(head)
	for i := 0; i < 3 && n > 0 && !utf8.RuneStart(head[n-1]); i++ {
		n--
	}
	if n > 0 && head[n-1] >= 0xC0 {
		n--
	}
	return n
}

// fourCC quotes a four-character code for a message, with bytes that are
// not printable ASCII replaced.
func fourCC(b []byte) string {
	return fmt.Sprintf("%q", clean(string(b)))
}

// skipID3 jumps over up to MaxID3Tags ID3v2 tags at off 0 and says where
// the audio starts and how many tags there were.
func skipID3(s *src, head []byte) (int64, int, error) {
	var off int64
	tags := 0
	for {
		var h [10]byte
		if off == 0 {
			if len(head) < 10 {
				return 0, 0, nil
			}
			copy(h[:], head)
		} else if err := s.full(h[:], off); err != nil {
			return off, tags, nil
		}
		if string(h[:3]) != "ID3" {
			return off, tags, nil
		}
		if tags == MaxID3Tags {
			return 0, 0, invalid("more than %d id3 tags in a row", MaxID3Tags)
		}
		// The size is syncsafe: 4 bytes of 7 bits each, so at most 256 MB.
		if h[3] == 0xFF || h[4] == 0xFF || (h[6]|h[7]|h[8]|h[9])&0x80 != 0 {
			return 0, 0, invalid("malformed id3 tag header")
		}
		n := int64(h[6])<<21 | int64(h[7])<<14 | int64(h[8])<<7 | int64(h[9])
		n += 10
		if h[5]&0x10 != 0 { // a footer follows
			n += 10
		}
		if off+n >= s.size {
			return 0, 0, invalid("id3 tag claims %d bytes, past the end of the file", n)
		}
		off += n
		tags++
	}
}

// sniffOgg reads the first packet of the first page: the codec's
// identification header.
func sniffOgg(head []byte) (Format, error) {
	p, err := parsePage(head)
	if err != nil {
		return Format{}, invalid("ogg: first page: %v", err)
	}
	if p.flags&pageBOS == 0 {
		return Format{}, invalid("ogg: first page does not begin a stream")
	}
	pkt := p.firstPacket(head)
	switch {
	case bytes.HasPrefix(pkt, []byte("\x01vorbis")):
		return OggVorbis, nil
	case bytes.HasPrefix(pkt, []byte("OpusHead")):
		return OggOpus, nil
	case bytes.HasPrefix(pkt, []byte("\x7fFLAC")):
		return Format{}, unsupported("flac in an ogg container (%s)", taken)
	case bytes.HasPrefix(pkt, []byte("Speex   ")):
		return Format{}, unsupported("ogg speex audio (%s)", taken)
	case bytes.HasPrefix(pkt, []byte("\x80theora")):
		return Format{}, unsupported("ogg theora video (%s)", taken)
	case bytes.HasPrefix(pkt, []byte("fishead")):
		return Format{}, unsupported("an ogg skeleton stream (%s)", taken)
	}
	return Format{}, unsupported("ogg with an unknown codec (%s)", taken)
}

// sniffBMFF decides on an ISO BMFF file: by the ftyp brands, then by its
// tracks (an m4a must have a sound track).
func sniffBMFF(s *src, head []byte) (Format, error) {
	n := binary.BigEndian.Uint32(head)
	if n < 16 || n > 4096 || int(n) > len(head) {
		return Format{}, invalid("m4a: ftyp box of %d bytes", n)
	}
	major := string(head[8:12])
	brands := []string{major}
	for i := 16; i+4 <= int(n); i += 4 {
		brands = append(brands, string(head[i:i+4]))
	}
	has := func(bs ...string) bool {
		for _, b := range brands {
			for _, want := range bs {
				if b == want {
					return true
				}
			}
		}
		return false
	}
	switch {
	case major == "M4P ":
		return Format{}, unsupported("drm-protected m4p audio (%s)", taken)
	case has("heic", "heix", "mif1", "msf1", "avif"):
		return Format{}, unsupported("a heif/avif image (%s)", taken)
	case major == "qt  ":
		return Format{}, unsupported("a quicktime movie (%s)", taken)
	case !has("M4A ", "M4B ", "F4A ", "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "dash"):
		return Format{}, unsupported("an iso media file of brand %s (%s)", fourCC(head[8:12]), taken)
	}
	info, err := walkBMFF(s)
	if err != nil {
		return Format{}, err
	}
	if !info.sound {
		if info.video {
			return Format{}, unsupported("an mp4 video without an audio track (%s)", taken)
		}
		return Format{}, unsupported("an mp4 file without an audio track (%s)", taken)
	}
	return M4A, nil
}
