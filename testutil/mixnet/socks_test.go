package mixnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
	"github.com/nyx-privacy/nyx/sidecar/requester"
	"github.com/nyx-privacy/nyx/sidecar/streams"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// fileServer serves random files of 1 KB, 100 KB and 1 MB on 127.0.0.1,
// and /slow: a body announced as 64 MiB of which 64 KiB come at once and
// the rest never (until the client goes).
type fileServer struct {
	port  uint16
	files map[string][]byte
}

func startFileServer(t testing.TB) *fileServer {
	fs := &fileServer{files: map[string][]byte{}}
	for name, n := range map[string]int{"1k": 1 << 10, "100k": 100 << 10, "1m": 1 << 20} {
		b := make([]byte, n)
		rand.Read(b)
		fs.files[name] = b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/f/{name}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := fs.files[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
	mux.HandleFunc("/sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, io.LimitReader(r.Body, 16<<20))
		fmt.Fprintf(w, "%x", h.Sum(nil))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(64<<20))
		w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Minute):
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	fs.port = uint16(l.Addr().(*net.TCPAddr).Port)
	return fs
}

func (fs *fileServer) url(host, name string) string {
	return fmt.Sprintf("http://%s:%d/f/%s", host, fs.port, name)
}

// httpVia is an HTTP client whose connections go through the SOCKS5
// proxy at addr, with Go's SOCKS5 dialer (host names resolved at the
// exit).
func httpVia(t testing.TB, addr string) *http.Client {
	d, err := proxy.SOCKS5("tcp", addr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext, DisableKeepAlives: true},
		Timeout: 2 * time.Minute}
}

func get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// findCurl finds curl, installing it with apt-get when it is missing and
// the test may (root on a Debian-like system; the package lists are fetched
// if the first attempt finds none). It returns "" when curl cannot be had:
// the curl parts are then skipped with that message and the rest of the test
// (Go's SOCKS5 dialer) still runs.
func findCurl(t *testing.T) string {
	if p, err := exec.LookPath("curl"); err == nil {
		return p
	}
	if _, err := exec.LookPath("apt-get"); err == nil && os.Geteuid() == 0 {
		install := func() {
			if out, err := exec.Command("apt-get", "install", "-y", "-q", "curl").CombinedOutput(); err != nil {
				t.Logf("apt-get install curl: %v\n%s", err, out)
			}
		}
		install()
		if _, err := exec.LookPath("curl"); err != nil {
			if out, err := exec.Command("apt-get", "update", "-q").CombinedOutput(); err != nil {
				t.Logf("apt-get update: %v\n%s", err, out)
			}
			install()
		}
		if p, err := exec.LookPath("curl"); err == nil {
			return p
		}
	}
	return ""
}

const noCurl = "curl is not installed and cannot be installed here (needs apt-get as root); install curl to run this part"

// proxySetup is one network with a requester whose policy allows only the
// file server's port on 127.0.0.1, and a SOCKS5 client using it.
type proxySetup struct {
	nw    *mixnet.Network
	files *fileServer
	req   *mixnet.Requester
	px    *mixnet.Proxy
	// closedPort is a port on 127.0.0.1 the policy rejects.
	rejectPort uint16
}

func startProxySetup(t testing.TB, nw *mixnet.Network, files *fileServer, sender func() mixnet.ClientOptions, packets sphinx.Geometry) *proxySetup {
	s := &proxySetup{nw: nw, files: files}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s.rejectPort = uint16(l.Addr().(*net.TCPAddr).Port)
	cfg := requester.DefaultConfig()
	cfg.Policy = exitpolicy.MustParse(fmt.Sprintf("accept 127.0.0.1:%d\n%s", s.files.port, exitpolicy.DefaultText))
	ro, po := sender(), sender()
	if packets.PayloadSize != 0 {
		ro.Sender.Geometry = packets
	}
	ro.Gateway, po.Gateway = nw.Gateway(1), nw.Gateway(0)
	s.req = nw.StartRequester(t, cfg, ro)
	sc := streams.DefaultClientConfig()
	sc.KeepAlive, sc.QuietTimeout = 500*time.Millisecond, 20*time.Second
	s.px = nw.StartProxy(t, s.req.Address(), sc, po)
	return s
}

// TestSOCKS5: ordinary programs through the mixnet. curl and Go's SOCKS5
// dialer fetch 1 KB, 100 KB and 1 MB byte for byte from a local HTTP
// server through a SOCKS5 client, the network (zero mix delays) and a
// network requester, and post 1 MB to it; twenty streams at once; a destination the exit policy
// rejects is refused with SOCKS5's "not allowed by ruleset"; garbage sent
// to the requester through the mixnet is dropped and counted; a requester
// that restarts mid-stream leaves the app with an error, not a hang; a
// SOCKS5 client without a provider finds the requester in the chain's
// service directory (testDirectory).
func TestSOCKS5(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	s := startProxySetup(t, mixnet.Start(t, mixnet.Options{}), startFileServer(t), func() mixnet.ClientOptions { return mixnet.ClientOptions{} }, sphinx.Geometry{})
	curl := findCurl(t)
	dir := t.TempDir()

	t.Run("curl", func(t *testing.T) {
		if curl == "" {
			t.Skip(noCurl)
		}
		for _, name := range []string{"1k", "100k", "1m"} {
			out := filepath.Join(dir, name)
			cmd := exec.Command(curl, "-sS", "--max-time", "120", "--socks5-hostname", s.px.Addr, "-o", out, s.files.url("127.0.0.1", name))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("curl %s: %v\n%s", name, err, b)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, s.files.files[name]) {
				t.Fatalf("curl fetched %d bytes for %s, not the %d of the file", len(got), name, len(s.files.files[name]))
			}
		}
	})

	t.Run("go dialer", func(t *testing.T) {
		hc := httpVia(t, s.px.Addr)
		for _, name := range []string{"1k", "100k", "1m"} {
			got, err := get(hc, s.files.url("localhost", name)) // resolved at the exit
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(got, s.files.files[name]) {
				t.Fatalf("fetched %d bytes for %s, not the %d of the file", len(got), name, len(s.files.files[name]))
			}
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		// Everything the requester got so far (the fetches above): each
		// message named its sender by one 16-byte sender tag, over whose
		// SURBs the requester replied, and nothing it got holds the
		// proxy's address or any of its keys.
		got := s.req.Received()
		if len(got) == 0 {
			t.Fatal("the requester received nothing")
		}
		a := s.px.Address()
		secrets := [][]byte{a.MarshalBinary(), a.Identity[:], a.Encryption[:], []byte(a.String())}
		tag := got[0].Tag
		for i, m := range got {
			if len(m.Tag) != len(client.SenderTag{}) {
				t.Fatalf("message %d: tag of %d bytes, not a sender tag", i, len(m.Tag))
			}
			if m.Tag != tag {
				t.Fatalf("message %d: another tag than the first message's, from the one proxy", i)
			}
			for _, x := range secrets {
				if bytes.Contains([]byte(m.Tag), x) || bytes.Contains(m.Frame, x) || bytes.Contains(x, []byte(m.Tag)) {
					t.Fatalf("message %d holds the proxy's address or a key of it", i)
				}
			}
		}
		st := s.req.Stats()
		if st.Received < uint64(len(got)) {
			t.Fatalf("the requester's client received %d messages, its transport handed on %d", st.Received, len(got))
		}
		if n := s.px.OutstandingSURBs(s.req.Address()); n == 0 {
			t.Fatal("the proxy has no reply SURBs outstanding with the requester")
		}
		// The 1 MB fetches took hundreds of SURBs each: none of the
		// requester's replies waited for SURBs in vain.
		if st.Failed != 0 {
			t.Fatalf("%d of the requester's reply packets failed (no SURBs came in time?)", st.Failed)
		}
		if st.Sent == 0 || s.px.Stats().Received == 0 {
			t.Fatalf("no replies: requester sent %d packets, proxy received %d messages", st.Sent, s.px.Stats().Received)
		}
	})

	t.Run("upload", func(t *testing.T) {
		body := s.files.files["1m"]
		resp, err := httpVia(t, s.px.Addr).Post(fmt.Sprintf("http://127.0.0.1:%d/sum", s.files.port), "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%x", sha256.Sum256(body)); string(got) != want {
			t.Fatalf("the server got other bytes than the 1 MB posted: %s", got)
		}
	})

	t.Run("twenty streams", func(t *testing.T) {
		hc := httpVia(t, s.px.Addr)
		want := sha256.Sum256(s.files.files["100k"])
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := get(hc, s.files.url("127.0.0.1", "100k"))
				if err != nil {
					t.Errorf("stream %d: %v", i, err)
				} else if sha256.Sum256(got) != want {
					t.Errorf("stream %d: %d bytes, not the file", i, len(got))
				}
			}()
		}
		wg.Wait()
	})

	t.Run("policy", func(t *testing.T) {
		_, err := get(httpVia(t, s.px.Addr), fmt.Sprintf("http://127.0.0.1:%d/", s.rejectPort))
		if err == nil || !strings.Contains(err.Error(), "not allowed by ruleset") {
			t.Fatalf("a destination the policy rejects: %v", err)
		}
		want := uint64(1)
		if curl == "" {
			t.Log(noCurl)
		} else {
			cmd := exec.Command(curl, "-sS", "--max-time", "60", "--socks5-hostname", s.px.Addr, fmt.Sprintf("http://127.0.0.1:%d/", s.rejectPort))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatal("curl fetched a destination the policy rejects")
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 97 { // CURLE_PROXY: the proxy refused
				t.Fatalf("curl: %v, want exit code 97 (proxy handshake error)\n%s", err, out)
			}
			t.Logf("curl says: %s", bytes.TrimSpace(out))
			want = 2
		}
		if n := s.req.Service().Stats().Refused[streams.ReasonPolicy]; n != want {
			t.Fatalf("requester counted %d policy refusals, want %d", n, want)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		// A stranger's garbage through the mixnet: messages that name
		// their sender by address (the old addressed envelope among them)
		// instead of a sender tag, and anonymous messages of bytes that
		// are no frame. Each is dropped and counted, and the requester
		// goes on serving.
		m := s.nw.StartClient(t, mixnet.ClientOptions{Gateway: s.nw.Gateway(0)})
		env := append([]byte{1}, m.Address().MarshalBinary()...)
		frame := streams.Frame{Kind: streams.KindOpen, Stream: 1, Data: []byte{0, 80, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't'}}.Marshal()
		addressed := [][]byte{[]byte("hello"), {}, append(append([]byte(nil), env...), frame...), frame}
		anonymous := [][]byte{{99, 1, 2}, {}}
		before := s.req.Service().Stats().Malformed
		for _, b := range addressed {
			if _, err := m.Send(context.Background(), s.req.Address(), b); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range anonymous {
			if _, err := m.SendAnonymous(context.Background(), s.req.Address(), b, 1); err != nil {
				t.Fatal(err)
			}
		}
		bad := append(addressed, anonymous...)
		deadline := time.Now().Add(30 * time.Second)
		for s.req.Service().Stats().Malformed < before+uint64(len(bad)) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := s.req.Service().Stats().Malformed - before; n != uint64(len(bad)) {
			t.Fatalf("requester counted %d malformed of %d", n, len(bad))
		}
		got, err := get(httpVia(t, s.px.Addr), s.files.url("127.0.0.1", "1k"))
		if err != nil || !bytes.Equal(got, s.files.files["1k"]) {
			t.Fatalf("after the garbage: %d bytes, %v", len(got), err)
		}
	})

	for _, restart := range []struct {
		name string
		do   func() error
	}{{"requester restart", s.req.Restart}, {"requester crash", s.req.Crash}} {
		t.Run(restart.name, func(t *testing.T) { restartMidStream(t, s, restart.do) })
	}

	// Last: its SOCKS5 client is a second sender to the requester, which
	// "anonymous" assumes has one.
	t.Run("directory", func(t *testing.T) { testDirectory(t, s) })
}

// restartMidStream: the app reads part of an endless body, the requester
// restarts, and the app's read ends in an error (not a hang); then the
// requester serves new streams.
func restartMidStream(t *testing.T, s *proxySetup, restart func() error) {
	hc := httpVia(t, s.px.Addr)
	resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/slow", s.files.port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	if err := restart(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); errc <- err }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("the body ended cleanly though the requester lost the stream")
		}
		t.Logf("app's error after the restart: %v; stream client %+v", err, s.px.Streams.Stats())
	case <-time.After(60 * time.Second):
		t.Fatal("the app still waits 60 s after the requester restarted")
	}
	// And the restarted requester serves new streams.
	got, err := get(hc, s.files.url("127.0.0.1", "1k"))
	if err != nil || !bytes.Equal(got, s.files.files["1k"]) {
		t.Fatalf("after the restart: %d bytes, %v", len(got), err)
	}
}
