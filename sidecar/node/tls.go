package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
)

// ClientsTLSSection is the certificate the clients port serves websockets
// over TLS with (wss://); both empty: plain ws://.
type ClientsTLSSection struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Enabled reports whether the clients port serves TLS.
func (c ClientsTLSSection) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

func (c ClientsTLSSection) validate() []error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return []error{errors.New("clients_tls: cert_file and key_file are set together or not at all")}
	}
	return nil
}

// load reads the certificate and key, relative to home unless absolute.
func (c ClientsTLSSection) load(home string) (*tls.Config, error) {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(home, p)
	}
	cert, err := tls.LoadX509KeyPair(abs(c.CertFile), abs(c.KeyFile))
	if err != nil {
		return nil, fmt.Errorf("clients_tls: %w", err)
	}
	// Websockets upgrade HTTP/1.1 connections.
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}, nil
}
