package gateway

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// The crash test runs the gateway in a child process (this test binary,
// re-executed with childEnv set), delivers messages to it over a small HTTP
// hook, kills it with SIGKILL in the middle of the deliveries, restarts it
// on the same store, and checks that every delivery it had answered "ok"
// reaches the client.

const (
	childEnv     = "NYX_GATEWAY_CRASH_CHILD"
	childKeyEnv  = "NYX_GATEWAY_CRASH_KEY"
	childAddrTag = "GATEWAY-ADDR "
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChild(dir)
		return
	}
	os.Exit(m.Run())
}

// discardForwarder drops client packets: the crash test sends none.
type discardForwarder struct{}

func (discardForwarder) Forward([32]byte, []byte) error { return nil }

func runChild(dir string) {
	seed, err := hex.DecodeString(os.Getenv(childKeyEnv))
	if err != nil || len(seed) != ed25519.SeedSize {
		fmt.Fprintln(os.Stderr, "child: bad key")
		os.Exit(2)
	}
	g, err := New(Config{StoreDir: dir}, ed25519.NewKeyFromSeed(seed), nil, discardForwarder{}, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.Handle("/", g.Handler())
	mux.HandleFunc("POST /deliver/{dest}", func(w http.ResponseWriter, r *http.Request) {
		var dest [32]byte
		if b, err := hex.DecodeString(r.PathValue("dest")); err != nil || len(b) != 32 {
			http.Error(w, "bad dest", http.StatusBadRequest)
			return
		} else {
			copy(dest[:], b)
		}
		body, _ := io.ReadAll(r.Body)
		if err := g.Deliver(dest, body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /stored", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, g.StoredMessages(nil))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Printf("%s%s\n", childAddrTag, ln.Addr())
	http.Serve(ln, mux)
}

type child struct {
	cmd    *exec.Cmd
	addr   string
	killed sync.Once
}

func startChild(t *testing.T, dir string, seed []byte) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, childKeyEnv+"="+hex.EncodeToString(seed))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(func() { c.kill() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, childAddrTag) {
		t.Fatalf("child gateway did not start: %q %v", line, err)
	}
	c.addr = strings.TrimSpace(strings.TrimPrefix(line, childAddrTag))
	return c
}

func (c *child) kill() {
	c.killed.Do(func() {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	})
}

func (c *child) deliver(dest [32]byte, payload []byte) error {
	resp, err := http.Post("http://"+c.addr+"/deliver/"+hex.EncodeToString(dest[:]), "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("deliver: %s %s", resp.Status, body)
	}
	return nil
}

func (c *child) stored(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + "/stored")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n, err := strconv.Atoi(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSIGKILLLosesNoStoredMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	gwPub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	client := newClientKey(t)
	id := idOf(client)

	gw := startChild(t, dir, seed)
	conn, key, err := gatewayclient.Register(ctx(t), "ws://"+gw.addr+"/", gwPub, client)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// Deliver until the kill: every "ok" is a promise that the message is
	// on disk.
	const before = 30
	acked := 0
	for i := 0; ; i++ {
		if i == before {
			// Kill it while a delivery is in flight.
			go gw.kill()
		}
		if err := gw.deliver(id, payloadN(i)); err != nil {
			if i < before {
				t.Fatalf("delivery %d before the kill: %v", i, err)
			}
			break
		}
		acked = i + 1
	}
	gw.kill()
	if ws := gw.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not SIGKILL", gw.cmd.ProcessState)
	}

	t.Logf("%d deliveries acknowledged before the SIGKILL", acked)
	gw = startChild(t, dir, seed)
	if n := gw.stored(t); n < acked {
		t.Fatalf("after the crash %d stored, but %d deliveries were acknowledged", n, acked)
	}
	c, err := gatewayclient.Dial(ctx(t), "ws://"+gw.addr+"/", gwPub, client, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// In order, every acknowledged one; at most one more (a delivery whose
	// commit beat the kill but whose answer did not).
	total := int(c.Stored)
	if total < acked || total > acked+1 {
		t.Fatalf("gateway holds %d, %d were acknowledged", total, acked)
	}
	var last uint64
	for i := range total {
		m := receive(t, c)
		if !bytes.Equal(m.Payload, payloadN(i)) {
			t.Fatalf("message %d after the crash: %q", i, m.Payload)
		}
		last = m.ID
	}
	if err := c.Ack(last); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to empty", func() bool { return gw.stored(t) == 0 })
}

func ecdhKey(b []byte) (*ecdh.PrivateKey, error) { return ecdh.X25519().NewPrivateKey(b) }

func mustDH(t *testing.T, k *ecdh.PrivateKey, peer []byte) []byte {
	t.Helper()
	s, err := gatewayproto.X25519(k, peer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSIGKILLConcurrentDeliveries is the crash test with deliveries from 16
// goroutines to 4 clients, so the kill lands while the committer is
// carrying several deliveries in one transaction: every delivery answered
// "ok" must be there after the restart.
func TestSIGKILLConcurrentDeliveries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	gwPub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	gw := startChild(t, dir, seed)
	const clients, workers = 4, 16
	var keys []ed25519.PrivateKey
	var shared []gatewayproto.SharedKey
	for range clients {
		k := newClientKey(t)
		conn, key, err := gatewayclient.Register(ctx(t), "ws://"+gw.addr+"/", gwPub, k)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		keys, shared = append(keys, k), append(shared, key)
	}

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				p := fmt.Sprintf("worker %02d message %05d", w, i)
				if gw.deliver(idOf(keys[(w+i)%clients]), []byte(p)) != nil {
					return
				}
				mu.Lock()
				acked[p] = true
				n := len(acked)
				mu.Unlock()
				if n == 300 {
					go gw.kill()
				}
			}
		}()
	}
	wg.Wait()
	gw.kill()
	t.Logf("%d deliveries acknowledged before the SIGKILL", len(acked))

	gw = startChild(t, dir, seed)
	found := 0
	for ci, k := range keys {
		c, err := gatewayclient.Dial(ctx(t), "ws://"+gw.addr+"/", gwPub, k, shared[ci])
		if err != nil {
			t.Fatal(err)
		}
		for range c.Stored {
			m := receive(t, c)
			if acked[string(m.Payload)] {
				delete(acked, string(m.Payload))
				found++
			}
		}
		c.Close()
	}
	if len(acked) > 0 {
		t.Fatalf("%d acknowledged deliveries lost in the crash (%d found)", len(acked), found)
	}
}
