package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns the pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestClientsPortTLS: with clients_tls set, a client that trusts the
// certificate opens a wss:// session and gets the gateway's challenge; a
// plain ws:// client and a TLS client that does not trust the certificate
// get no session.
func TestClientsPortTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	s := startTestNode(t, func(c *Config) { c.ClientsTLS = ClientsTLSSection{CertFile: certFile, KeyFile: keyFile} })
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("wss://"+s.ClientsAddr()+"/", nil)
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	mt, b, err := conn.ReadMessage()
	if err != nil || mt != websocket.TextMessage {
		t.Fatalf("no challenge over wss: %v", err)
	}
	var ctl struct{ Type string }
	if json.Unmarshal(b, &ctl) != nil || ctl.Type != "challenge" {
		t.Fatalf("first frame %q", b)
	}
	if _, _, err := websocket.DefaultDialer.Dial("ws://"+s.ClientsAddr()+"/", nil); err == nil {
		t.Fatal("a plain ws:// session on the TLS port")
	}
	untrusting := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if _, _, err := untrusting.Dial("wss://"+s.ClientsAddr()+"/", nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client that does not trust the certificate: %v", err)
	}
}

func TestClientsTLSConfig(t *testing.T) {
	c := DefaultConfig()
	c.ClientsTLS.CertFile = "cert.pem"
	if err := c.ClientsTLS.validate(); err == nil {
		t.Fatal("a certificate without its key")
	}
	b, err := DefaultConfig().Render()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "[clients_tls]\n") || !strings.Contains(string(b), "cert_file = \"\"") {
		t.Fatal("init does not write the clients_tls section")
	}
	if _, err := Start(t.Context(), t.TempDir(), func() Config {
		c := DefaultConfig()
		c.Chain.GRPC, c.Chain.ChainID = "127.0.0.1:1", "x"
		c.ClientsTLS = ClientsTLSSection{CertFile: "missing.pem", KeyFile: "missing.key"}
		return c
	}(), Keys{}, Options{}); err == nil || !strings.Contains(err.Error(), "clients_tls") {
		t.Fatalf("a missing certificate: %v", err)
	}
}
