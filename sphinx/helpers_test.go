package sphinx

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20"
)

// detReader is a deterministic randomness source: the ChaCha20 keystream
// under SHA-256(seed). Tests and test vectors use it so that runs repeat.
type detReader struct{ c *chacha20.Cipher }

func newDetReader(seed string) *detReader {
	key := sha256.Sum256([]byte(seed))
	var nonce [chacha20.NonceSize]byte
	c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce[:])
	if err != nil {
		panic(err)
	}
	return &detReader{c: c}
}

func (r *detReader) Read(p []byte) (int, error) {
	clear(p)
	r.c.XORKeyStream(p, p)
	return len(p), nil
}

// testNode is a node with its private key and address.
type testNode struct {
	key  *PrivateKey
	addr NodeAddress
}

func newTestNodes(t testing.TB, seed string, n int) []testNode {
	t.Helper()
	r := newDetReader("nodes/" + seed)
	nodes := make([]testNode, n)
	for i := range nodes {
		k, err := GenerateKey(r)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i].key = k
		if _, err := r.Read(nodes[i].addr[:]); err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

func routeOf(nodes []testNode) []Hop {
	route := make([]Hop, len(nodes))
	for i, n := range nodes {
		route[i] = Hop{Address: n.addr, PublicKey: n.key.PublicKey(), Delay: time.Duration(i+1)*time.Millisecond + time.Duration(i)*1234}
	}
	return route
}

func testDestination(seed string) Destination {
	var d Destination
	r := newDetReader("dest/" + seed)
	_, _ = r.Read(d.Address[:])
	_, _ = r.Read(d.Identifier[:])
	return d
}

func testMessage(seed string, n int) []byte {
	m := make([]byte, n)
	_, _ = newDetReader("msg/" + seed).Read(m)
	binary.BigEndian.PutUint32(m, uint32(n))
	return m
}

// walk processes packet along nodes and returns the result of the final hop
// and the packets seen at every hop (input of hop i at index i).
func walk(t testing.TB, g Geometry, nodes []testNode, packet []byte) (Result, [][]byte) {
	t.Helper()
	seen := [][]byte{packet}
	for i, n := range nodes {
		res, err := g.ProcessHop(n.key, packet)
		if err != nil {
			t.Fatalf("hop %d: %v", i, err)
		}
		if i < len(nodes)-1 {
			if res.Action != Forward {
				t.Fatalf("hop %d: action %v, want forward", i, res.Action)
			}
			if res.NextHop != nodes[i+1].addr {
				t.Fatalf("hop %d: next hop %v, want %v", i, res.NextHop, nodes[i+1].addr)
			}
			packet = res.Packet
			seen = append(seen, packet)
			continue
		}
		if res.Action != Deliver {
			t.Fatalf("final hop %d: action %v, want deliver", i, res.Action)
		}
		return res, seen
	}
	t.Fatal("empty route")
	return Result{}, nil
}
