#!/bin/sh
# Makes the audio and image samples of media's tests: short sine waves
# through real encoders, a few KB each, committed so `make test` needs no
# encoder. Run from anywhere; needs ffmpeg (Debian: apt-get install -y ffmpeg,
# which brings lame, libvorbis, libopus, flac, aac and libwebp). The WAV
# samples and the PNG/JPEG are written by the tests in Go.
set -eu
cd "$(dirname "$0")"
ff() { ffmpeg -hide_banner -loglevel error -y -bitexact "$@"; }
sine() { echo "sine=frequency=440:sample_rate=$1:duration=$2"; }

# mp3: an ID3v2 tag and a LAME Info header (frame count), and a bare one of
# frames only (no tag, no Info header: the duration comes from a frame walk)
ff -f lavfi -i "$(sine 22050 3)" -ac 1 -c:a libmp3lame -b:a 16k -metadata title=sine sine-3s.mp3
ff -f lavfi -i "$(sine 22050 2)" -ac 1 -c:a libmp3lame -b:a 16k -write_xing 0 -id3v2_version 0 -fflags +bitexact sine-2s-bare.mp3
# ogg: vorbis and opus
ff -f lavfi -i "$(sine 22050 2)" -ac 1 -c:a libvorbis -q:a 0 sine-2s.ogg
ff -f lavfi -i "$(sine 48000 3)" -ac 1 -c:a libopus -b:a 12k sine-3s.opus
# flac
ff -f lavfi -i "$(sine 8000 2)" -ac 1 -c:a flac -sample_fmt s16 sine-2s.flac
# m4a: aac, the moov box after the audio (ffmpeg's default) and before it
ff -f lavfi -i "$(sine 22050 3)" -ac 1 -c:a aac -b:a 16k sine-3s.m4a
ff -f lavfi -i "$(sine 22050 1)" -ac 1 -c:a aac -b:a 16k -movflags +faststart sine-1s-faststart.m4a
# refused: an mp4 video with no sound track, flac in ogg
ff -f lavfi -i "testsrc=duration=1:size=32x32:rate=5" -c:v mpeg4 -an video.mp4
ff -f lavfi -i "$(sine 8000 1)" -ac 1 -c:a flac -f ogg flac-in-ogg.oga
# artwork: webp (Go writes no webp)
ff -f lavfi -i "color=c=red:size=40x30" -frames:v 1 -c:v libwebp cover.webp
ls -l
