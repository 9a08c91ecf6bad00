package validate

import (
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

var datetimeSeeds = []string{
	"2025-10-03T09:00:00.000Z", "2025-10-02T18:04:11.372819Z", "2025-10-03T09:00:00Z", "2025-10-03T09:00:00+02:00",
	"2025-10-03T09:00:00.000-00:00", "2025-10-03T09:00:00.000+00:00", "2025-10-03T09:00:00.000", "2025-10-03t09:00:00z",
	"0000-01-01T00:00:00Z", "0000-01-01T00:00:00+01:00", "0000-01-01T00:00:00-01:00", "2025-13-03T09:00:00Z",
	"2025-02-30T09:00:00Z", "2025-10-03T23:59:60Z", "2025-10-03T24:00:00Z", "2025-10-03T09:00:00.12345678901234567890Z",
	"2025-10-03T09:00:00.123456789012345678901Z", "2025-10-03T09:00:00,5Z", "2025-10-03T09:00:00é5Z", "2025-10-03T09:00:00\n5Z",
	"2025-10-03T09:00:00+24:00", "2025-10-03T09:00:00+0200", " 2025-10-03T09:00:00Z", "2025-10-03T09:00:00Z ",
	"9999-12-31T23:59:59.999999999-23:59", "2025-10-03T09:00:00.5+02:00", "2025-10-03T09:00:005Z", "2025-10-03T09:00:00Z5Z",
	"2025-10-03T09:00:00+02:60", "2025-10-03T09:00:00\xff5Z", "", "Z", "2025-10-03T09:00:00" + strings.Repeat("1", 46) + "Z",
}

// FuzzDatetimeAgrees: checkDatetime decides as syntax.ParseDatetime does.
func FuzzDatetimeAgrees(f *testing.F) {
	for _, s := range datetimeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, want := syntax.ParseDatetime(s)
		if got := checkDatetime(s); (got == nil) != (want == nil) {
			t.Fatalf("checkDatetime(%q) = %v, syntax.ParseDatetime: %v", s, got, want)
		}
	})
}

var uriSeeds = []string{
	"https://audio.relay.example/j.mp3", "http://a", "a:b", "a:", ":b", "A:b", "https:", "https://a.example/a b", "https://a.example/ä",
	"h" + strings.Repeat("t", 80) + ":x", "h" + strings.Repeat("t", 81) + ":x", "a.b-c:d:e", "a1:b", "mailto:x@y", "a:\x7f", "a:~!",
	"https://" + strings.Repeat("a", 8190), "a:b\n", "", "javascript:alert(1)", "a:\xff", "at://did:plc:x/app.relay.track/3l",
}

// FuzzURIAgrees: checkURI decides as syntax.ParseURI does.
func FuzzURIAgrees(f *testing.F) {
	for _, s := range uriSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, want := syntax.ParseURI(s)
		if got := checkURI(s); (got == nil) != (want == nil) {
			t.Fatalf("checkURI(%q) = %v, syntax.ParseURI: %v", s, got, want)
		}
	})
}

var didSeeds = []string{
	"did:plc:mark4hmc3inwkbiwbx6ndpbq", "did:web:jonsi.example.com", "did:web:localhost%3A8080", "did:plc:", "did:plc:a:", "did:plc:a%",
	"did:plc:a%20b", "did::a", "did:PLC:a", "did:pl1:a", "DID:plc:a", "did:plc", "did:", "", "did:plc:ab_c-d.e", "did:plc:a:b",
	"did:plc:ä", "did:plc:a b", "did:plc:mark4hmc3inwkbiwbx6ndp!q", "did:web:" + strings.Repeat("a", 2040), "did:web:" + strings.Repeat("a", 2041),
}

// FuzzDIDAgrees: checkDID decides as syntax.ParseDID does.
func FuzzDIDAgrees(f *testing.F) {
	for _, s := range didSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, want := syntax.ParseDID(s)
		if got := checkDID(s); (got == nil) != (want == nil) {
			t.Fatalf("checkDID(%q) = %v, syntax.ParseDID: %v", s, got, want)
		}
	})
}

var handleSeeds = []string{
	"mark.example.com", "jonsi.example.com", "a.b", "a.b.", ".a.b", "a..b", "a", "a.1", "a.b1", "1.b", "a-b.c-d", "-a.b", "a-.b", "a.-b",
	"a.b-", "A.B", "xn--bcher-kva.example", strings.Repeat("a", 63) + ".b", strings.Repeat("a", 64) + ".b", "a." + strings.Repeat("b", 63),
	"a." + strings.Repeat("b", 64), strings.Repeat("a.", 126) + "b", strings.Repeat("a.", 126) + "bc", "ä.b", "a b.c", "a_b.c", "", "a.b\n",
}

// FuzzHandleAgrees: checkHandle decides as syntax.ParseHandle does.
func FuzzHandleAgrees(f *testing.F) {
	for _, s := range handleSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, want := syntax.ParseHandle(s)
		if got := checkHandle(s); (got == nil) != (want == nil) {
			t.Fatalf("checkHandle(%q) = %v, syntax.ParseHandle: %v", s, got, want)
		}
	})
}

var tidSeeds = []string{"3mmoojp7etg2a", "3mmoojp7vgo2a", "2222222222222", "jzzzzzzzzzzzz", "kzzzzzzzzzzzz", "1aaaaaaaaaaaa", "3mmoojp7etg2", "3mmoojp7etg2aa",
	"3mmoojp7etg2A", "3mmoojp7etg28", "3mmoojp7etg2-", "", "self", "3mmoojp7etg2\n", "3mmoojp7etgé"}

// FuzzTIDAgrees: ParseTID decides as syntax.ParseTID does.
func FuzzTIDAgrees(f *testing.F) {
	for _, s := range tidSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := syntax.ParseTID(s)
		got, err := ParseTID(s)
		if (err == nil) != (wantErr == nil) || got != want {
			t.Fatalf("ParseTID(%q) = %q, %v; syntax.ParseTID: %q, %v", s, got, err, want, wantErr)
		}
	})
}

var cidSeeds = []string{"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
	"QmaWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "abcdefg", "abcdefgh", "abcd+=gh", "abcd/fgh", "abcd-fgh", "", "Qmb", "Qmbbbbbb",
	strings.Repeat("a", 256), strings.Repeat("a", 257), "abcdefgé"}

// FuzzCIDAgrees: ParseCID decides as syntax.ParseCID does.
func FuzzCIDAgrees(f *testing.F) {
	for _, s := range cidSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := syntax.ParseCID(s)
		got, err := ParseCID(s)
		if (err == nil) != (wantErr == nil) || got != want {
			t.Fatalf("ParseCID(%q) = %q, %v; syntax.ParseCID: %q, %v", s, got, err, want, wantErr)
		}
	})
}

// FuzzPlainHTTPS: what plainHTTPS takes, IsHTTPS takes.
func FuzzPlainHTTPS(f *testing.F) {
	for _, s := range append(uriSeeds, "https://a.example/x?y=1&z=%41", "https://a.example:443/x", "https://A.example/x", "https://a.example/~u/(x)*;=@:",
		"https://a..b/", "https://-/", "https://a.example?x", "https://a.example#x", "https://[::1]/x", "https://a.example/\\x") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainHTTPS(s) && !IsHTTPS(s) {
			t.Fatalf("plainHTTPS(%q) but not IsHTTPS", s)
		}
	})
}

func TestPlainHTTPS(t *testing.T) {
	for _, s := range []string{"https://audio.relay.example/j.mp3", "https://pub-3f9a.r2.dev/audio/9f86d081.flac", "https://a.example/x?X-Amz-Date=20251003T090000Z&X-Amz-Signature=ab12"} {
		if !plainHTTPS(s) {
			t.Errorf("plainHTTPS(%q) = false: the common case takes the slow road", s)
		}
	}
}

// BenchmarkFormats: formats.go's checks against the reference each is held
// to (indigo's parsers; IsMediaURL for plainHTTPS), on a record's values.
func BenchmarkFormats(b *testing.B) {
	for _, c := range []struct {
		name        string
		v           string
		indigo, own func(string) error
	}{
		{"datetime", "2025-10-02T18:04:11.372819Z", func(s string) error { _, err := syntax.ParseDatetime(s); return err }, checkDatetime},
		{"uri", "https://audio.relay.example/3f9a.mp3", func(s string) error { _, err := syntax.ParseURI(s); return err }, checkURI},
		{"did-web", "did:web:jonsi.example.com", func(s string) error { _, err := syntax.ParseDID(s); return err }, checkDID},
		{"handle", "mark.example.com", func(s string) error { _, err := syntax.ParseHandle(s); return err }, checkHandle},
		{"https", "https://audio.relay.example/3f9a.mp3", func(s string) error {
			if !IsMediaURL(s) {
				return errURI
			}
			return nil
		}, func(s string) error {
			if !plainHTTPS(s) && !IsMediaURL(s) {
				return errURI
			}
			return nil
		}},
		{"tid", "3mmoojp7etg2a", func(s string) error { _, err := syntax.ParseTID(s); return err }, func(s string) error { _, err := ParseTID(s); return err }},
		{"cid", "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", func(s string) error { _, err := syntax.ParseCID(s); return err }, func(s string) error { _, err := ParseCID(s); return err }},
	} {
		for _, p := range []struct {
			name string
			fn   func(string) error
		}{{"reference", c.indigo}, {"fast", c.own}} {
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				start := cpuTime(b)
				for b.Loop() {
					if err := p.fn(c.v); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
