package requester

import "testing"

// FuzzParseConfig: any requester.toml parses or fails; an accepted one
// survives being written out and read again.
func FuzzParseConfig(f *testing.F) {
	f.Add(DefaultFileConfig().Marshal())
	f.Add([]byte("[requester]\nmax_streams = -1\n"))
	f.Add([]byte("[requester]\npacket_size = \"extended32\"\n"))
	f.Add([]byte("= ="))
	f.Add([]byte("[directory]\nannounce = true\ndescription = \"Exit \\\"Zürich\\\" \\\\ web\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		back, err := ParseConfig(c.Marshal())
		if err != nil {
			t.Fatalf("accepted config does not re-parse: %v", err)
		}
		if back != c {
			t.Fatalf("round trip changed the config: %+v → %+v", c, back)
		}
	})
}
