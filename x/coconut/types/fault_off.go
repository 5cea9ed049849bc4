//go:build !dkgfault

package types

// faultDealing is where a test build (tag dkgfault, fault_on.go) makes this
// validator a bad dealer; an ordinary build deals honestly.
func faultDealing(dealing []byte) []byte { return dealing }
