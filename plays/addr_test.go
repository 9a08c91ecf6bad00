package plays

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseProxies(t *testing.T) {
	for _, tc := range []struct {
		specs []string
		ok    bool
	}{
		{[]string{"10.0.0.0/8", "fd00::/8"}, true},
		{[]string{"192.0.2.7"}, true},
		{[]string{"::ffff:192.0.2.7"}, true},
		{[]string{" 10.1.2.3/16 ", ""}, true},
		{[]string{"10.0.0.0/33"}, false},
		{[]string{"proxy.example"}, false},
	} {
		_, err := ParseProxies(tc.specs)
		if (err == nil) != tc.ok {
			t.Errorf("ParseProxies(%q): err %v, want ok %v", tc.specs, err, tc.ok)
		}
	}
	p, _ := ParseProxies([]string{"::ffff:192.0.2.7", "10.1.2.3/16"})
	for _, a := range []string{"192.0.2.7", "10.1.255.1"} {
		if !p.trusted(netip.MustParseAddr(a)) {
			t.Errorf("%s not trusted", a)
		}
	}
	if p.trusted(netip.MustParseAddr("10.2.0.1")) {
		t.Error("10.2.0.1 trusted by 10.1.0.0/16")
	}
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	// hops is n trusted addresses, comma separated.
	hops := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = "10.0.0.9"
		}
		return strings.Join(s, ", ")
	}
	long := strings.Repeat("203.0.113.250, ", MaxForwardedBytes/15+1) + "198.51.100.4, 10.0.0.2"
	for _, tc := range []struct {
		name      string
		proxies   Proxies
		peer      string
		forwarded []string
		want      string
	}{
		{"no proxy trusted: the peer, header ignored", Proxies{}, "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"untrusted peer's header is ignored", proxies, "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"trusted peer without header: the peer", proxies, "10.0.0.1:5000", nil, "10.0.0.1"},
		{"trusted peer: the header's client", proxies, "10.0.0.1:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"spoofed left entries are not taken", proxies, "10.0.0.1:5000", []string{"1.1.1.1, 2.2.2.2, 203.0.113.9"}, "203.0.113.9"},
		{"trusted hops skipped from the right", proxies, "10.0.0.1:5000", []string{"1.1.1.1, 203.0.113.9, 10.2.3.4, fd00::7"}, "203.0.113.9"},
		{"several headers read in order", proxies, "10.0.0.1:5000", []string{"1.1.1.1", "203.0.113.9, 10.2.3.4"}, "203.0.113.9"},
		{"entries with ports and brackets", proxies, "10.0.0.1:5000", []string{"[2001:db8::5]:443, 10.0.0.3:80"}, "2001:db8::5"},
		{"mapped IPv4 is IPv4", proxies, "[::ffff:10.0.0.1]:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"IPv6 peer", proxies, "[fd00::1]:5000", []string{"2001:db8::9"}, "2001:db8::9"},
		{"all trusted: the leftmost", proxies, "10.0.0.1:5000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"malformed entry: the peer", proxies, "10.0.0.1:5000", []string{"203.0.113.9, not-an-ip"}, "10.0.0.1"},
		{"empty entry: the peer", proxies, "10.0.0.1:5000", []string{"203.0.113.9,,"}, "10.0.0.1"},
		{"empty header: the peer", proxies, "10.0.0.1:5000", []string{""}, "10.0.0.1"},
		{"trusted hops at the bound, then the client", proxies, "10.0.0.1:5000", []string{"203.0.113.9, " + hops(MaxForwardedHops-1)}, "203.0.113.9"},
		{"past the hop bound: the peer", proxies, "10.0.0.1:5000", []string{"203.0.113.9, " + hops(MaxForwardedHops)}, "10.0.0.1"},
		{"oversized header: only its end is read", proxies, "10.0.0.1:5000", []string{long}, "198.51.100.4"},
		{"oversized single entry: the peer", proxies, "10.0.0.1:5000", []string{strings.Repeat("9", MaxForwardedBytes+10)}, "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.proxies.ClientAddr(tc.peer, tc.forwarded)
			if !ok || got != netip.MustParseAddr(tc.want) {
				t.Errorf("ClientAddr = %v, %v; want %s", got, ok, tc.want)
			}
		})
	}
	if len(long) <= MaxForwardedBytes {
		t.Fatalf("the oversized header is %d bytes, not past the bound", len(long))
	}
	if _, ok := proxies.ClientAddr("pipe", nil); ok {
		t.Error("a peer that is no address was taken")
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:80", "203.0.113.9, 10.0.0.2")
	f.Add("10.0.0.1:80", "[::1]:9,,x")
	proxies, _ := ParseProxies([]string{"10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, peer, header string) {
		a, ok := proxies.ClientAddr(peer, []string{header})
		if ok && !a.IsValid() {
			t.Fatalf("ok with an invalid address for %q %q", peer, header)
		}
		// An untrusted peer is always its own address, whatever the header.
		if p, pok := parseHost(peer); pok && !proxies.trusted(p) && a != p {
			t.Fatalf("untrusted peer %v answered %v", p, a)
		}
	})
}
