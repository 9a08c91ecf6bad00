package media

import "encoding/binary"

// wavDuration walks the RIFF chunks (MaxChunks at most, reading only their
// 8-byte headers and the fmt chunk) to the fmt and data chunks: the
// duration is the data size over the byte rate. A header that lies (a RIFF
// or data size past the end of the file, a byte rate that does not follow
// from the PCM format) is refused, not believed.
//
// Our own read rather than github.com/go-audio/wav: its decoder wants an
// io.ReadSeeker and trusts the sizes it reads, and the header is 44 bytes.
func wavDuration(s *src) (int64, error) {
	var h [12]byte
	if err := s.full(h[:], 0); err != nil {
		return 0, readErr("wav", err)
	}
	end := int64(binary.LittleEndian.Uint32(h[4:])) + 8
	if end > s.size {
		return 0, invalid("wav: riff header claims %d bytes, the file has %d", end, s.size)
	}
	var (
		fmtFound         bool
		format, channels uint16
		rate, byteRate   uint32
		blockAlign, bits uint16
		dataSize         int64
		dataFound        bool
	)
	off := int64(12)
	for i := 0; off+8 <= end && !(fmtFound && dataFound); i++ {
		if i == MaxChunks {
			return 0, invalid("wav: more than %d chunks", MaxChunks)
		}
		var c [8]byte
		if err := s.full(c[:], off); err != nil {
			return 0, readErr("wav", err)
		}
		n := int64(binary.LittleEndian.Uint32(c[4:]))
		body := off + 8
		if body+n > end {
			return 0, invalid("wav: chunk %s claims %d bytes, past the end of the file", fourCC(c[:4]), n)
		}
		switch string(c[:4]) {
		case "fmt ":
			if n < 16 {
				return 0, invalid("wav: fmt chunk of %d bytes", n)
			}
			var f [16]byte
			if err := s.full(f[:], body); err != nil {
				return 0, readErr("wav", err)
			}
			format = binary.LittleEndian.Uint16(f[0:])
			channels = binary.LittleEndian.Uint16(f[2:])
			rate = binary.LittleEndian.Uint32(f[4:])
			byteRate = binary.LittleEndian.Uint32(f[8:])
			blockAlign = binary.LittleEndian.Uint16(f[12:])
			bits = binary.LittleEndian.Uint16(f[14:])
			fmtFound = true
		case "data":
			dataSize = n
			dataFound = true
		}
		off = body + n + n&1 // chunks are padded to even sizes
	}
	if !fmtFound || !dataFound {
		return 0, invalid("wav: no fmt or no data chunk")
	}
	if channels == 0 || rate == 0 || byteRate == 0 {
		return 0, invalid("wav: zero channels, sample rate or byte rate")
	}
	switch format {
	case 1, 3, 6, 7, 0xFFFE: // PCM, float, A-law, µ-law, extensible
		want := uint64(channels) * uint64((bits+7)/8)
		if bits == 0 || uint64(blockAlign) != want || uint64(byteRate) != uint64(rate)*want {
			return 0, invalid("wav: byte rate %d does not follow from %d Hz, %d channels, %d bits", byteRate, rate, channels, bits)
		}
	}
	return seconds("wav", uint64(dataSize), uint64(byteRate))
}
