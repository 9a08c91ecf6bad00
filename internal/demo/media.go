package demo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Audio is mono 8-bit PCM at a low rate: a few seconds of a chord stay
// around 30 KB, so the whole catalogue's audio is well under a megabyte.
const (
	sampleRate = 11025
	bitsPerSam = 8
)

// chordWAV renders a chord (frequencies in Hz) for seconds as a WAV file,
// with a short fade in and out so the player does not click.
func chordWAV(freqs []float64, seconds float64) []byte {
	n := int(seconds * sampleRate)
	fade := sampleRate / 20 // 50 ms
	wave := make([]float64, n)
	var peak float64
	for i := range wave {
		t := float64(i) / sampleRate
		var v float64
		for k, f := range freqs {
			// Each voice a little quieter and with a soft second harmonic.
			a := 1 / float64(k+1)
			v += a * (math.Sin(2*math.Pi*f*t) + 0.25*math.Sin(4*math.Pi*f*t))
		}
		wave[i] = v
		peak = max(peak, math.Abs(v))
	}
	data := make([]byte, n)
	for i, v := range wave {
		env := 1.0
		if i < fade {
			env = float64(i) / float64(fade)
		} else if n-i < fade {
			env = float64(n-i) / float64(fade)
		}
		// 8-bit WAV samples are unsigned, 128 is silence; the peak is
		// scaled to 110 whatever the number of voices.
		data[i] = byte(128 + 110*v/peak*env)
	}
	var b bytes.Buffer
	b.Grow(44 + n)
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))                          // fmt chunk size
	w(uint16(1))                           // PCM
	w(uint16(1))                           // mono
	w(uint32(sampleRate))                  // sample rate
	w(uint32(sampleRate * bitsPerSam / 8)) // byte rate
	w(uint16(bitsPerSam / 8))              // block align
	w(uint16(bitsPerSam))                  // bits per sample
	b.WriteString("data")
	w(uint32(n))
	b.Write(data)
	return b.Bytes()
}

// artPNG draws an album cover: a diagonal gradient between two colours
// with a ring (shape 0), a disc (1) or stripes (2) over it.
func artPNG(from, to color.RGBA, shape int) []byte {
	const size = 256
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	c := float64(size) / 2
	for y := range size {
		for x := range size {
			t := float64(x+y) / float64(2*size-2)
			px := color.RGBA{
				R: lerp(from.R, to.R, t), G: lerp(from.G, to.G, t), B: lerp(from.B, to.B, t), A: 255,
			}
			d := math.Hypot(float64(x)-c, float64(y)-c)
			var on bool
			switch shape % 3 {
			case 0:
				on = d > 60 && d < 80
			case 1:
				on = d < 70
			case 2:
				on = (x+2*y)/24%2 == 0 && d < 110
			}
			if on {
				px = color.RGBA{R: 255 - px.R/3, G: 255 - px.G/3, B: 255 - px.B/3, A: 255}
			}
			img.SetRGBA(x, y, px)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		// png.Encode fails only on a writer error; a bytes.Buffer has none.
		panic("demo: png encode: " + err.Error())
	}
	return b.Bytes()
}

func lerp(a, b uint8, t float64) uint8 {
	return uint8(float64(a) + (float64(b)-float64(a))*t)
}
