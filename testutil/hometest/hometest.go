// Package hometest gives tests a daemon home checked into testdata as a
// daemon left it: copied to a temporary directory, its files owner-only
// (git keeps no modes, and sidecar/home refuses key files others may
// read).
package hometest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Copy copies the directory src into a new temporary directory and returns
// the copy, every file in it 0600.
func Copy(t testing.TB, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chmod(p, 0o600)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
