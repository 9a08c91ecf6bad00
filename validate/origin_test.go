package validate

import "testing"

func TestIsMediaURL(t *testing.T) {
	t.Cleanup(func() { _ = TrustOrigin("") })
	for _, tc := range []struct {
		origin string
		url    string
		want   bool
	}{
		{"", "https://cdn.example.com/a.mp3", true},
		{"", "http://cdn.example.com/a.mp3", false},
		{"", "http://127.0.0.1:8080/audio/a.mp3", false},
		{"", "javascript:alert(1)", false},
		{"", "https://relay.example@evil.example/a.mp3", false}, // userinfo: the host is evil.example
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/audio/a.mp3", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081/audio/a.mp3", false},
		{"http://127.0.0.1:8080", "http://user@127.0.0.1:8080/audio/a.mp3", false},
		{"http://127.0.0.1:8080", "https://cdn.example.com/a.mp3", true},
		{"http://LOCALHOST:9", "http://localhost:9/art/x.png", true},
		{"https://relay.example.com", "https://relay.example.com/audio/a.mp3", true},
	} {
		if err := TrustOrigin(tc.origin); err != nil {
			t.Fatalf("TrustOrigin(%q): %v", tc.origin, err)
		}
		if got := IsMediaURL(tc.url); got != tc.want {
			t.Errorf("origin %q: IsMediaURL(%q) = %v, want %v", tc.origin, tc.url, got, tc.want)
		}
	}
}

func TestTrustOriginRefuses(t *testing.T) {
	t.Cleanup(func() { _ = TrustOrigin("") })
	for _, o := range []string{
		"http://relay.example.com", // plain http off loopback
		"https://relay.example.com/path",
		"ftp://127.0.0.1",
		"https://",
		"https://relay.example.com?x=1",
	} {
		if err := TrustOrigin(o); err == nil {
			t.Errorf("TrustOrigin(%q) = nil, want an error", o)
		}
	}
}
