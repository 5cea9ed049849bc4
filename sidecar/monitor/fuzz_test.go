package monitor

import "testing"

// FuzzParseConfig: any config file is parsed into a valid config or
// refused with an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	b, _ := testConfig().Render()
	f.Add(b)
	f.Add([]byte("[monitor]\nrate = 1e400\n"))
	f.Add([]byte("[chain]\nchain_id = \"x\"\n[monitor]\nreport_after = nan\n"))
	f.Add([]byte("[[chain]]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("a parsed config does not validate: %v", verr)
			}
		}
	})
}
