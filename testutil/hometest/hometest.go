// Package hometest holds what the daemons' tests check of their homes: a
// home checked into testdata as a daemon left it, copied to a temporary
// directory with its files owner-only (git keeps no modes, and
// sidecar/home refuses key files others may read); and that the config
// file init writes spells out every setting of the config type, each with
// a comment.
package hometest

import (
	"encoding"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
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

// Keys lists the TOML keys of the config type of v, "section.key": its
// fields' toml tags, embedded structs flattened, fields tagged "-" left
// out.
func Keys(v any) []string {
	return keys(reflect.TypeOf(v), "")
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func keys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		leaf := f.Type.Kind() != reflect.Struct || reflect.PointerTo(f.Type).Implements(textUnmarshaler)
		switch {
		case f.Anonymous && !leaf:
			out = append(out, keys(f.Type, prefix)...)
		case leaf:
			out = append(out, prefix+name)
		default:
			out = append(out, keys(f.Type, prefix+name+".")...)
		}
	}
	return out
}

// CheckDocumented fails t unless the config file b (what init writes for
// a config of v's type) sets every key of v's type and nothing else, each
// setting under a comment (or in a run of settings under one).
func CheckDocumented(t testing.TB, b []byte, v any) {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal(b, &m); err != nil {
		t.Fatalf("the written config is not TOML: %v", err)
	}
	written := map[string]bool{}
	flatten(m, "", written)
	for _, k := range Keys(v) {
		if !written[k] {
			t.Errorf("%s is not written out", k)
		}
		delete(written, k)
	}
	for k := range written {
		t.Errorf("%s is written but is no setting", k)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.Contains(l, " = ") && !strings.HasPrefix(l, "#") &&
			(i == 0 || !strings.HasPrefix(lines[i-1], "#") && !strings.Contains(lines[i-1], " = ")) {
			t.Errorf("setting %q has no comment", l)
		}
	}
}

func flatten(m map[string]any, prefix string, out map[string]bool) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(sub, prefix+k+".", out)
		} else {
			out[prefix+k] = true
		}
	}
}
