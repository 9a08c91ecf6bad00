package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/tcolgate/mp3"
)

// mp3Frames checks that MPEG audio frames start at off, after at most lead
// bytes of padding (some taggers leave zeros after an ID3v2 tag): two whole
// frames in a row. A single sync word is two bytes any binary file may
// hold; two frames are not (and a file of one frame holds no sound worth a
// track).
func mp3Frames(s *src, off int64, lead int) error {
	d := mp3.NewDecoder(bufio.NewReaderSize(io.NewSectionReader(s, off, s.size-off), 4096))
	var f mp3.Frame
	for i := 0; i < 2; i++ {
		skipped := 0
		err := d.Decode(&f, &skipped)
		if err != nil {
			return readErr("mp3", err)
		}
		if (i == 0 && skipped > lead) || (i == 1 && skipped != 0) {
			return invalid("mp3: no frame at the start of the audio")
		}
	}
	return nil
}

// mp3Duration reads the Xing/Info or VBRI header of the first frame when
// the encoder wrote one (a frame count: no walk needed), else walks every
// frame with github.com/tcolgate/mp3, one reused buffer of at most one
// frame (under 3 KB), up to MaxDuration of them.
func mp3Duration(s *src, off int64) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(s, off, s.size-off), 32<<10)
	d := mp3.NewDecoder(br)
	var f mp3.Frame
	skipped := 0
	if err := d.Decode(&f, &skipped); err != nil {
		return 0, readErr("mp3", err)
	}
	if skipped > MaxJunk {
		return 0, invalid("mp3: no frame at the start of the audio")
	}
	rate := int(f.Header().SampleRate())
	perFrame := f.Samples()
	if n, ok := vbrFrames(&f); ok {
		return seconds("mp3", uint64(n)*uint64(perFrame), uint64(rate))
	}

	// No frame count: walk. Sample rates may differ between frames of a
	// hostile file, so sum in seconds.
	total := float64(perFrame) / float64(rate)
	max := MaxDuration.Seconds()
	for {
		err := d.Decode(&f, &skipped)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// A last frame cut short, or a trailing tag: the end.
			break
		}
		if err != nil {
			return 0, readErr("mp3", err)
		}
		if skipped > MaxJunk {
			return 0, invalid("mp3: more than %d bytes of junk between frames", MaxJunk)
		}
		total += float64(f.Samples()) / float64(f.Header().SampleRate())
		if total > max {
			return 0, invalid("mp3: duration past %d hours", int(MaxDuration/time.Hour))
		}
	}
	return int64(total + 0.5), nil
}

// vbrFrames reads the frame count of a Xing/Info header (after the side
// information) or a VBRI header (32 bytes after the frame header).
func vbrFrames(f *mp3.Frame) (uint32, bool) {
	var buf [3072]byte
	n, _ := io.ReadFull(f.Reader(), buf[:])
	b := buf[:n]
	side, err := f.SideInfoLength()
	if err != nil {
		return 0, false
	}
	at := 4 + side
	if f.Header().Protection() {
		at += 2
	}
	if at+12 <= len(b) {
		tag := b[at : at+4]
		if bytes.Equal(tag, []byte("Xing")) || bytes.Equal(tag, []byte("Info")) {
			flags := binary.BigEndian.Uint32(b[at+4:])
			if flags&1 != 0 {
				if n := binary.BigEndian.Uint32(b[at+8:]); n > 0 {
					return n, true
				}
			}
		}
	}
	if 36+18 <= len(b) && bytes.Equal(b[36:40], []byte("VBRI")) {
		if n := binary.BigEndian.Uint32(b[36+14:]); n > 0 {
			return n, true
		}
	}
	return 0, false
}
