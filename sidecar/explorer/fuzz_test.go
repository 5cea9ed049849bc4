package explorer

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseNodeID(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-1", "+1", "007", "18446744073709551615", "18446744073709551616", "", "1e3", " 1", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseNodeID(s)
		if err != nil {
			return
		}
		if id == 0 {
			t.Fatalf("%q gave node id 0", s)
		}
		if again, err := ParseNodeID(strconv.FormatUint(id, 10)); err != nil || again != id {
			t.Fatalf("%q gave %d, which does not parse back (%d, %v)", s, id, again, err)
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"n1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5y6xqkw", "N1QYPQXPQ9QCRSSZG2PVXQ6RS0ZQG3YYC5Y6XQKW",
		"cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu", "n1", "", "<script>", strings.Repeat("n1q", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(a, AccountPrefix+"1") || len(a) > maxParamLen {
			t.Fatalf("%q gave %q", s, a)
		}
		if again, err := ParseAddress(a); err != nil || again != a {
			t.Fatalf("%q gave %q, which is not canonical (%q, %v)", s, a, again, err)
		}
	})
}

func FuzzParseRole(f *testing.F) {
	for _, s := range []string{"", "all", "entry", "mix1", "mix2", "mix3", "exit", "standby", "none", "ENTRY", "mix4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, all, err := ParseRole(s)
		if err != nil {
			if len(err.Error()) > 2*maxParamLen+100 {
				t.Fatalf("error for %d-byte input is %d bytes", len(s), len(err.Error()))
			}
			return
		}
		if !all && roleName(r) != s {
			t.Fatalf("%q gave role %v", s, r)
		}
	})
}

func FuzzParseSort(f *testing.F) {
	for _, s := range append([]string{"", "Stake", "x"}, sortKeys...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseSort(s)
		if err != nil {
			return
		}
		if !slices.Contains(sortKeys, k) {
			t.Fatalf("%q gave %q", s, k)
		}
	})
}

// FuzzPages asks the network pages for any path and query: the answer is a
// page or a redirect, never a server error, and never echoes markup.
func FuzzPages(f *testing.F) {
	for _, s := range []string{"/", "/nodes?role=mix1&sort=stake", "/topology", "/nodes?role=<b>", "/node?id=5",
		"/address?addr=n1", "/x", "/nodes?sort=%3Cscript%3E"} {
		f.Add(s)
	}
	h := NewHandler(staticSource(syntheticSnapshot(20, "")))
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") || strings.HasPrefix(u.Path, "/node/") || strings.HasPrefix(u.Path, "/address/") {
			return // not a request line, or a page that asks the chain
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL, req.RequestURI = u, target
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusSeeOther, http.StatusBadRequest, http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect:
		default:
			t.Fatalf("%q: status %d", target, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "<script>alert") {
			t.Fatalf("%q: markup echoed", target)
		}
	})
}

// FuzzParseDaemonConfig: any config file is parsed into a valid config or
// refused with an error, never a panic.
func FuzzParseDaemonConfig(f *testing.F) {
	b, _ := DefaultDaemonConfig().Render()
	f.Add(b)
	f.Add([]byte("[chain]\nrefresh = \"1ns\"\n"))
	f.Add([]byte("[explorer]\nhistory_epochs = 1e400\n"))
	f.Add([]byte("[[http]]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseDaemonConfig(b)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("a parsed config does not validate: %v", verr)
			}
		}
	})
}
