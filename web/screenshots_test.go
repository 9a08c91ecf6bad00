package web

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshots saves the feed, an artist page and a track page with
// the player, at desktop and phone sizes, under docs/screenshots. On
// demand only: RELAY_SCREENSHOTS=1 go test -run TestScreenshots ./web/
// (make screenshots).
func TestScreenshots(t *testing.T) {
	if os.Getenv("RELAY_SCREENSHOTS") == "" {
		t.Skip("RELAY_SCREENSHOTS is not set")
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.catalogue()
	trs := e.add(trackSpec{did: nova, title: "tide tables", artist: "nova", album: "tidelines", image: e.art(1), duration: 90, age: 47 * time.Hour, genre: "ambient", tags: []string{"calm", "field recording"}, audio: e.media.URL + "/audio/long.wav"})
	trackPath := "/track/" + trs[0].DID.String() + "/" + trs[0].RKey.String()
	sizes := []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}}
	// The embeddable player, at the size oEmbed announces.
	b := newBrowser(t)
	b.do(chromedp.EmulateViewport(embedWidth, embedHeight, chromedp.EmulateScale(2)))
	b.open(e.srv.URL + "/embed" + trackPath)
	b.wait(`Array.from(document.images).every(i => i.complete)`, 10*time.Second)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "embed.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sz := range sizes {
		b := newBrowser(t)
		if sz.mobile {
			b.do(chromedp.EmulateViewport(sz.width, sz.height, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
		} else {
			b.do(chromedp.EmulateViewport(sz.width, sz.height))
		}
		for _, p := range []struct{ name, path string }{{"feed", "/"}, {"artist", "/artist/nova.example.com"}, {"track", trackPath}} {
			b.open(e.srv.URL + p.path)
			if p.name == "track" {
				b.do(chromedp.Click(chromedp.CSS(`#list li.track .i-play`)))
				b.wait(`document.getElementById('audio').currentTime > 1.5`, 10*time.Second)
			}
			b.wait(`Array.from(document.images).every(i => i.complete)`, 10*time.Second)
			time.Sleep(300 * time.Millisecond)
			png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, p.name+"-"+sz.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
