package media

import (
	"bufio"
	"io"

	"github.com/mewkiz/flac/meta"
)

// flacDuration reads STREAMINFO, which the format puts first, with
// github.com/mewkiz/flac's metadata parser: total samples over the sample
// rate. Only the block header is trusted to say its type and length before
// the body is parsed, so a first block claiming 16 MB of picture is refused
// without being read.
func flacDuration(s *src, off int64) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(s, off, s.size-off), 512)
	var sig [4]byte
	if _, err := io.ReadFull(br, sig[:]); err != nil {
		return 0, readErr("flac", err)
	}
	if string(sig[:]) != "fLaC" {
		return 0, invalid("flac: no fLaC signature")
	}
	block, err := meta.New(br)
	if err != nil {
		return 0, readErr("flac", err)
	}
	if block.Type != meta.TypeStreamInfo || block.Length != 34 {
		return 0, invalid("flac: first metadata block is not a streaminfo")
	}
	if err := block.Parse(); err != nil {
		return 0, readErr("flac", err)
	}
	info, ok := block.Body.(*meta.StreamInfo)
	if !ok {
		return 0, invalid("flac: first metadata block is not a streaminfo")
	}
	if info.NSamples == 0 {
		return 0, invalid("flac: streaminfo gives no sample count")
	}
	if err := flacFrames(s, off+4+4+34, block.IsLast); err != nil {
		return 0, err
	}
	return seconds("flac", info.NSamples, uint64(info.SampleRate))
}

// maxFLACBlocks bounds the metadata block walk after STREAMINFO.
const maxFLACBlocks = 128

// flacFrames checks that audio frames follow the metadata: it jumps from
// block header to block header (4 bytes each, the bodies, cover art among
// them, are not read) and wants the frame sync code after the last. A file
// cut after its headers holds no audio, whatever STREAMINFO says.
func flacFrames(s *src, off int64, last bool) error {
	var h [4]byte
	for i := 0; !last; i++ {
		if i == maxFLACBlocks {
			return invalid("flac: more than %d metadata blocks", maxFLACBlocks)
		}
		if err := s.full(h[:], off); err != nil {
			return readErr("flac", err)
		}
		last = h[0]&0x80 != 0
		off += 4 + (int64(h[1])<<16 | int64(h[2])<<8 | int64(h[3]))
	}
	if err := s.full(h[:2], off); err != nil {
		return readErr("flac", err)
	}
	if h[0] != 0xFF || h[1]&0xFE != 0xF8 {
		return invalid("flac: no audio frame after the metadata")
	}
	return nil
}
