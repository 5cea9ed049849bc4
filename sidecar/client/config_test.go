package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/mr-tron/base58"

	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/hometest"
)

func testFileConfig() FileConfig {
	c := DefaultFileConfig()
	c.Gateway = GatewaySection{Identity: base58.Encode(bytes.Repeat([]byte{4}, 32)), URL: "ws://127.0.0.1:9000/"}
	return c
}

func TestConfigRoundTripAndDocumented(t *testing.T) {
	c := testFileConfig()
	b := c.Marshal()
	back, err := ParseConfig(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: %+v != %+v", back, c)
	}
	// Every setting is written out, with a comment above it.
	hometest.CheckDocumented(t, b, c)
}

func TestConfigRefusals(t *testing.T) {
	good := string(testFileConfig().Marshal())
	for name, text := range map[string]string{
		"unknown key":      strings.Replace(good, "[log]", "[log]\ncolour = \"red\"", 1),
		"public listen":    strings.Replace(good, `listen = "127.0.0.1:1977"`, `listen = "0.0.0.0:1977"`, 1),
		"bad gateway key":  strings.Replace(good, testFileConfig().Gateway.Identity, "abc", 1),
		"http gateway url": strings.Replace(good, "ws://", "http://", 1),
		"bad deposit":      strings.Replace(good, `auto_buy_deposit = "1000000unym"`, `auto_buy_deposit = "lots"`, 1),
		"bad duration":     strings.Replace(good, `average_packet_delay = "15ms"`, `average_packet_delay = "fast"`, 1),
		"negative delay":   strings.Replace(good, `average_packet_delay = "15ms"`, `average_packet_delay = "-1ms"`, 1),
		"zero queue":       strings.Replace(good, "send_queue = 1024", "send_queue = 0", 1),
		"cover, no gaps":   strings.Replace(good, `average_send_delay = "20ms"`, `average_send_delay = "0s"`, 1),
		"bad level":        strings.Replace(good, `level = "info"`, `level = "loud"`, 1),
		"not toml":         "{",
		"zero ack wait":    strings.Replace(good, `ack_wait = "1.5s"`, `ack_wait = "0s"`, 1),
		"no retransmits":   strings.Replace(good, "max_retransmissions = 10", "max_retransmissions = 0", 1),
		"too many surbs":   strings.Replace(good, "reply_surbs = 10", "reply_surbs = 51", 1),
		"no surb life":     strings.Replace(good, `surb_lifetime = "1h0m0s"`, `surb_lifetime = "0s"`, 1),
		"no tags":          strings.Replace(good, "max_sender_tags = 1000", "max_sender_tags = 0", 1),
		"wrong type":       strings.Replace(good, "receive_buffer = 1024", `receive_buffer = "many"`, 1),
	} {
		if text == good {
			t.Fatalf("%s: replacement did nothing", name)
		}
		if _, err := ParseConfig([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestInitThenServe: init picks the gateway from the topology and registers
// with it; Serve then runs the client and its local API from the home, and
// a message the client sends to itself comes back through the mix layers.
func TestInitThenServe(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 1)
	url, _ := startGateway(t, n, 0)
	// Point the topology's entry gateway at the running gateway.
	host, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"))
	p, _ := strconv.Atoi(port)
	n.topo.Entry[0].Host, n.topo.Entry[0].ClientsPort = host, uint16(p)

	home := t.TempDir()
	cfg := DefaultFileConfig()
	cfg.Traffic.AveragePacketDelay, cfg.Traffic.AverageSendDelay, cfg.Traffic.LoopCover = 0, 0, false
	gwID := base58.Encode(n.topo.Entry[0].Identity[:])
	addr, err := Init(ctx, home, cfg, n.topo, gwID)
	if err != nil {
		t.Fatal(err)
	}
	if addr.Gateway != n.topo.Entry[0].Identity {
		t.Fatal("address names another gateway")
	}
	if _, err := Init(ctx, home, cfg, n.topo, gwID); err == nil {
		t.Fatal("Init overwrote an initialised home")
	}
	if _, err := Init(ctx, t.TempDir(), cfg, n.topo, base58.Encode(n.topo.Layers[0][0].Identity[:])); err == nil {
		t.Fatal("Init registered with a mix node")
	}
	for _, f := range []string{ConfigFile, filepath.Join(KeysDir, GatewayKeyFile)} {
		st, err := os.Stat(filepath.Join(home, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st, err)
		}
	}

	h, err := LoadHome(home)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, h, l, func() *topology.Topology { return n.topo }, nil) }()

	app := appConn(t, "ws://"+l.Addr().String()+"/")
	app.WriteMessage(websocket.TextMessage, []byte(`{"type":"selfAddress"}`))
	if j := readJSON(t, app); j.Address != addr.String() {
		t.Fatalf("selfAddress %q, init said %q", j.Address, addr)
	}
	// The gateway connection may still be opening: the release stream
	// waits for it.
	req, _ := json.Marshal(map[string]string{"type": "send", "recipient": addr.String(), "message": "to myself"})
	app.WriteMessage(websocket.TextMessage, req)
	if j := readSkipping(t, app, "sent", "delivered"); j.Type != "received" || j.Message == nil || *j.Message != "to myself" {
		t.Fatalf("got %+v", j)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
