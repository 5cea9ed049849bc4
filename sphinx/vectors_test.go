package sphinx

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudflare/circl/dh/x25519"
)

// Regenerate with: go test ./sphinx -run TestVectors -update
// Only do so for a deliberate change of the format, and say so in SPEC.md.
var update = flag.Bool("update", false, "rewrite sphinx/testdata/vectors.json")

const vectorsPath = "testdata/vectors.json"

type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }
func (h *hexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

type vectorFile struct {
	Comment  string          `json:"comment"`
	Packets  []packetVector  `json:"packets"`
	LIONESS  []lionessVector `json:"lioness"`
	Geometry []sizeVector    `json:"geometries"`
}

type sizeVector struct {
	Name        string `json:"name"`
	MaxHops     int    `json:"max_hops"`
	PayloadSize int    `json:"payload_size"`
	HeaderSize  int    `json:"header_size"`
	PacketSize  int    `json:"packet_size"`
	SURBSize    int    `json:"surb_size"`
}

type lionessVector struct {
	Key        hexBytes `json:"key"`
	Plaintext  hexBytes `json:"plaintext"`
	Ciphertext hexBytes `json:"ciphertext"`
}

type packetVector struct {
	Name        string `json:"name"`
	MaxHops     int    `json:"max_hops"`
	PayloadSize int    `json:"payload_size"`
	// Kind is "forward" (NewPacket) or "surb" (NewSURB, then NewReply).
	Kind        string      `json:"kind"`
	Route       []hopVector `json:"route"`
	Destination hexBytes    `json:"destination"`
	Identifier  hexBytes    `json:"identifier"`
	Message     hexBytes    `json:"message"`
	// Randomness is every byte NewPacket / NewSURB reads, in order: the
	// ephemeral scalar, then the routing padding.
	Randomness hexBytes `json:"randomness"`
	SURB       hexBytes `json:"surb,omitempty"`
	Packet     hexBytes `json:"packet"`
	// Payload is what the final hop delivers.
	Payload hexBytes `json:"delivered_payload"`
}

type hopVector struct {
	PrivateKey hexBytes `json:"private_key"`
	PublicKey  hexBytes `json:"public_key"`
	Address    hexBytes `json:"address"`
	DelayNS    int64    `json:"delay_ns"`
	// What the hop computes from the packet it receives.
	GroupElement hexBytes `json:"group_element"`
	SharedSecret hexBytes `json:"shared_secret"`
	HeaderMACKey hexBytes `json:"header_mac_key"`
	StreamKey    hexBytes `json:"header_stream_key"`
	PayloadKey   hexBytes `json:"payload_key"`
	BlindingKey  hexBytes `json:"blinding_key"`
	ReplayTag    hexBytes `json:"replay_tag"`
	// The packet this hop receives.
	PacketIn hexBytes `json:"packet_in"`
}

// recordingReader reads from r and keeps a copy of what it gave out.
type recordingReader struct {
	r   *detReader
	got []byte
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	rr.got = append(rr.got, p[:n]...)
	return n, err
}

func makePacketVector(t *testing.T, name, kind string, g Geometry, hops int) packetVector {
	t.Helper()
	nodes := newTestNodes(t, "vec/"+name, hops)
	route := routeOf(nodes)
	dst := testDestination("vec/" + name)
	msg := testMessage("vec/"+name, g.PayloadSize)
	v := packetVector{
		Name: name, Kind: kind, MaxHops: g.MaxHops, PayloadSize: g.PayloadSize,
		Destination: dst.Address[:], Identifier: dst.Identifier[:], Message: msg,
	}
	for i, n := range nodes {
		v.Route = append(v.Route, hopVector{
			PrivateKey: n.key.Bytes(), PublicKey: n.key.PublicKey().Bytes(),
			Address: bytes.Clone(n.addr[:]), DelayNS: int64(route[i].Delay),
		})
	}
	rr := &recordingReader{r: newDetReader("vec/" + name)}
	var err error
	switch kind {
	case "forward":
		v.Packet, err = g.NewPacket(rr, route, dst, msg)
	case "surb":
		var s *SURB
		if s, err = g.NewSURB(rr, route, dst); err == nil {
			if v.SURB, err = s.MarshalBinary(); err == nil {
				v.Packet, err = g.NewReply(s, msg)
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	v.Randomness = rr.got
	fillHops(t, g, &v)
	return v
}

// fillHops processes v.Packet along v.Route and records what each hop sees.
func fillHops(t *testing.T, g Geometry, v *packetVector) {
	t.Helper()
	packet := []byte(v.Packet)
	for i := range v.Route {
		h := &v.Route[i]
		key, err := NewPrivateKey(h.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		var alpha, s x25519.Key
		copy(alpha[:], packet)
		if !dh(&s, &key.scalar, &alpha) {
			t.Fatal("dh failed")
		}
		var k hopKeys
		deriveHopKeys(&k, (*[32]byte)(&alpha), (*[32]byte)(&s))
		h.GroupElement, h.SharedSecret = bytes.Clone(alpha[:]), bytes.Clone(s[:])
		h.HeaderMACKey, h.StreamKey, h.PayloadKey = bytes.Clone(k.headerMAC[:]), bytes.Clone(k.headerStream[:]), bytes.Clone(k.payload[:])
		h.BlindingKey, h.ReplayTag = bytes.Clone(k.blinding[:]), bytes.Clone(k.replayTag[:])
		h.PacketIn = bytes.Clone(packet)
		res, err := g.ProcessHop(key, packet)
		if err != nil {
			t.Fatalf("%s hop %d: %v", v.Name, i, err)
		}
		if res.Delay != time.Duration(h.DelayNS) || res.ReplayTag != k.replayTag {
			t.Fatalf("%s hop %d: delay or tag differs", v.Name, i)
		}
		packet = res.Packet
		if res.Action == Deliver {
			v.Payload = bytes.Clone(res.Payload)
		}
	}
}

func buildVectors(t *testing.T) vectorFile {
	f := vectorFile{Comment: "Nyx Sphinx test vectors (format nyx-sphinx-v1), see sphinx/SPEC.md. " +
		"All byte strings are hex. Feed 'randomness' to the packet builder as its random source; " +
		"every hop's values are what that hop computes from packet_in with its private_key."}
	for _, g := range StandardGeometries() {
		f.Geometry = append(f.Geometry, sizeVector{geometryName(g), g.MaxHops, g.PayloadSize, g.HeaderSize(), g.PacketSize(), g.SURBSize()})
	}
	f.Packets = []packetVector{
		makePacketVector(t, "regular-1-hop", "forward", Regular, 1),
		makePacketVector(t, "regular-4-hops", "forward", Regular, 4),
		makePacketVector(t, "regular-5-hops", "forward", Regular, 5),
		makePacketVector(t, "ack-4-hops", "forward", Ack, 4),
		makePacketVector(t, "regular-surb-reply-4-hops", "surb", Regular, 4),
	}
	for i, n := range []int{33, 48, 100} {
		var key [PayloadKeySize]byte
		_, _ = newDetReader(fmt.Sprintf("vec/lioness/%d", i)).Read(key[:])
		pt := testMessage(fmt.Sprintf("vec/lioness/%d", i), n)
		ct := bytes.Clone(pt)
		lionessEncrypt(&key, ct)
		f.LIONESS = append(f.LIONESS, lionessVector{key[:], pt, ct})
	}
	return f
}

func TestVectors(t *testing.T) {
	f := buildVectors(t)
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	if *update {
		if err := os.WriteFile(vectorsPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", vectorsPath)
	}
	committed, err := os.ReadFile(filepath.FromSlash(vectorsPath))
	if err != nil {
		t.Fatalf("%v (generate with -update)", err)
	}
	if !bytes.Equal(committed, out) {
		t.Fatalf("%s differs from what this code computes: the format changed (regenerate with -update only if that is intended)", vectorsPath)
	}
	checkVectorFile(t, committed)
}

// checkVectorFile replays the committed vectors from their stated inputs only,
// as another implementation would.
func checkVectorFile(t *testing.T, data []byte) {
	var f vectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Packets) == 0 || len(f.LIONESS) == 0 {
		t.Fatal("vector file is empty")
	}
	for _, v := range f.Packets {
		g := Geometry{MaxHops: v.MaxHops, PayloadSize: v.PayloadSize}
		var route []Hop
		for _, h := range v.Route {
			pub, err := NewPublicKey(h.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			hop := Hop{PublicKey: pub, Delay: time.Duration(h.DelayNS)}
			copy(hop.Address[:], h.Address)
			route = append(route, hop)
		}
		var dst Destination
		copy(dst.Address[:], v.Destination)
		copy(dst.Identifier[:], v.Identifier)
		rnd := bytes.NewReader(v.Randomness)
		var packet []byte
		var err error
		if v.Kind == "surb" {
			var s *SURB
			if s, err = g.NewSURB(rnd, route, dst); err == nil {
				var wire []byte
				if wire, err = s.MarshalBinary(); err == nil && !bytes.Equal(wire, v.SURB) {
					t.Fatalf("%s: SURB differs", v.Name)
				}
				packet, err = g.NewReply(s, v.Message)
			}
		} else {
			packet, err = g.NewPacket(rnd, route, dst, v.Message)
		}
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if rnd.Len() != 0 {
			t.Fatalf("%s: %d bytes of randomness left unread", v.Name, rnd.Len())
		}
		if !bytes.Equal(packet, v.Packet) {
			t.Fatalf("%s: packet differs", v.Name)
		}
		// The X25519 values agree with an independent implementation.
		for i, h := range v.Route {
			priv, err := ecdh.X25519().NewPrivateKey(h.PrivateKey)
			if err != nil {
				t.Fatal(err)
			}
			peer, err := ecdh.X25519().NewPublicKey(h.GroupElement)
			if err != nil {
				t.Fatal(err)
			}
			s, err := priv.ECDH(peer)
			if err != nil || !bytes.Equal(s, h.SharedSecret) || !bytes.Equal(priv.PublicKey().Bytes(), h.PublicKey) {
				t.Fatalf("%s hop %d: X25519 differs from crypto/ecdh", v.Name, i)
			}
		}
		check := v
		check.Route = append([]hopVector(nil), v.Route...)
		fillHops(t, g, &check)
		for i := range v.Route {
			a, _ := json.Marshal(v.Route[i])
			b, _ := json.Marshal(check.Route[i])
			if !bytes.Equal(a, b) {
				t.Fatalf("%s hop %d: recorded values differ", v.Name, i)
			}
		}
		if !bytes.Equal(check.Payload, v.Payload) || !bytes.Equal(v.Payload, v.Message) {
			t.Fatalf("%s: delivered payload differs", v.Name)
		}
	}
	for i, v := range f.LIONESS {
		ct := bytes.Clone(v.Plaintext)
		lionessEncrypt((*[PayloadKeySize]byte)(v.Key), ct)
		if !bytes.Equal(ct, v.Ciphertext) {
			t.Fatalf("LIONESS vector %d differs", i)
		}
	}
}
