package client

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

func seedAddress() Address {
	k, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{3}, 32))
	return Address{Identity: [32]byte{1}, Encryption: [32]byte(k.PublicKey().Bytes()), Gateway: [32]byte{2}}
}

func FuzzParseAddress(f *testing.F) {
	f.Add(seedAddress().String())
	f.Add("a.b@c")
	f.Add("@.")
	f.Add("11111111111111111111111111111111.11111111111111111111111111111111@11111111111111111111111111111111")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrAddress) {
				t.Fatalf("error does not wrap ErrAddress: %v", err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("accepted %q, which prints as %q", s, a.String())
		}
		if b, err := ParseAddressBinary(a.MarshalBinary()); err != nil || b != a {
			t.Fatalf("binary form does not round trip: %v", err)
		}
	})
}

func FuzzParseAddressBinary(f *testing.F) {
	f.Add(seedAddress().MarshalBinary())
	f.Add(make([]byte, AddressSize))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAddressBinary(b)
		if err != nil {
			if !errors.Is(err, ErrAddress) {
				t.Fatalf("error does not wrap ErrAddress: %v", err)
			}
			return
		}
		if !bytes.Equal(a.MarshalBinary(), b) {
			t.Fatal("round trip changed the address")
		}
		if back, err := ParseAddress(a.String()); err != nil || back != a {
			t.Fatalf("text form does not round trip: %v", err)
		}
	})
}

// FuzzHandle feeds arbitrary payloads (what a gateway delivers) to a
// client's receive path: a sealed message, a chunk of a longer one, cover,
// an ack, and a reply over a SURB whose key the client keeps are among the
// seeds. It never panics, and what it hands to apps is a decoded message.
func FuzzHandle(f *testing.F) {
	k, _ := GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{5}, 128)))
	size := sphinx.Regular.PayloadSize
	n := ContentSize(size) - envelopeOverhead
	sealPiece := func(p Piece) []byte {
		plain, _ := p.marshal(n)
		c, _ := seal(rand.Reader, k.Encryption.PublicKey(), plain)
		return c
	}
	whole, _ := (&message{kind: kindPlain, data: []byte("seed")}).marshal()
	f.Add(sealPiece(Piece{ID: MessageID{1}, Count: 1, Data: whole}))
	f.Add(sealPiece(Piece{ID: MessageID{2}, Index: 1, Count: 2, Data: []byte("half")}))
	cover, _ := seal(rand.Reader, k.Encryption.PublicKey(), coverPiece(n))
	f.Add(cover)
	var key [ReplyKeySize]byte
	key[0] = 9
	replyMsg, _ := (&message{kind: kindReply, data: []byte("answer")}).marshal()
	plain, _ := Piece{ID: MessageID{3}, Count: 1, Data: replyMsg}.marshal(n)
	reply, _ := sealReply(rand.Reader, key, plain)
	f.Add(reply)
	f.Add(make([]byte, sphinx.Ack.PayloadSize))
	f.Add(make([]byte, ContentSize(size)))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := New(Config{GatewayURL: "ws://127.0.0.1:1/", Sender: DefaultSenderConfig()}, k, gatewayproto.SharedKey{}, func() *topology.Topology { return nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.sender.replies.keys[replyDigest(key)] = replyKey{key: key, expires: time.Now().Add(time.Hour)}
		m, ok, _ := c.handle(payload)
		if ok && (len(m.Data) > maxEncodedMessage || m.Reply && m.SenderTag != nil) {
			t.Fatalf("handed on %d bytes, reply %v, tag %v", len(m.Data), m.Reply, m.SenderTag)
		}
	})
}

// FuzzParseMessage decodes arbitrary reassembled messages: it never panics,
// and what it accepts encodes back to the same bytes.
func FuzzParseMessage(f *testing.F) {
	n := newTestNet(f, 1)
	k := mustKeysTB(f)
	s := newTestSender(f, n, k, DefaultSenderConfig(), nil, false)
	_, surbs, err := s.makeSURBs(n.topo, k.Address(n.topo.Exit[0].Identity), 2, false)
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []*message{{kind: kindPlain, data: []byte("x")}, {kind: kindAnonymous, tag: SenderTag{1}, surbs: surbs, data: []byte("q")},
		{kind: kindSURBs, tag: SenderTag{2}, surbs: surbs[:1]}, {kind: kindReply, data: []byte("a")}, {kind: kindSURBAsk, want: 20}} {
		b, err := m.marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{kindAnonymous, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			if !errors.Is(err, errMessage) {
				t.Fatalf("error does not wrap errMessage: %v", err)
			}
			return
		}
		back, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if m.kind == kindAnonymous || m.kind == kindSURBs {
			// Expiry is kept to the second; a parsed one always is.
			if !bytes.Equal(back, b) {
				t.Fatalf("re-encoded %d bytes differ from %d", len(back), len(b))
			}
		} else if !bytes.Equal(back, b) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzParsePiece reads arbitrary envelope plaintexts.
func FuzzParsePiece(f *testing.F) {
	n := 64
	good, _ := Piece{ID: MessageID{1}, Index: 1, Count: 3, Data: []byte("abc")}.marshal(n)
	f.Add(good)
	f.Add(coverPiece(n))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePiece(b)
		if err != nil {
			if !errors.Is(err, ErrSealed) && !errors.Is(err, ErrCover) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if p.Count < 1 || p.Index >= p.Count || len(p.Data) > len(b)-pieceHeader {
			t.Fatalf("piece %d of %d with %d bytes from %d", p.Index, p.Count, len(p.Data), len(b))
		}
		back, err := p.marshal(len(b))
		if err != nil || !bytes.Equal(back[:pieceHeader+len(p.Data)], b[:pieceHeader+len(p.Data)]) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}

// FuzzAck feeds arbitrary ack payloads to the ack check: only the ones made
// with the key pass.
func FuzzAck(f *testing.F) {
	k, _ := GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{6}, 128)))
	key, _ := deriveAckKey(k)
	f.Add(key.payload(ackID{1}))
	f.Add(make([]byte, sphinx.Ack.PayloadSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := key.open(b)
		if err != nil {
			return
		}
		if !bytes.Equal(key.payload(id), b) {
			t.Fatal("an ack that was not made with the key passed")
		}
	})
}

// FuzzReassemble feeds the reassembler sequences of chunks (each
// described by four bytes: id, index, count, length, and the length's
// bytes of data): it never panics, keeps within its bounds, and what it
// returns has the size the chunks add up to.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{1, 0, 2, 3, 'a', 'b', 'c', 1, 1, 2, 1, 'd'})
	f.Add([]byte{1, 0, 2, 1, 'a', 1, 0, 3, 1, 'a', 2, 5, 200, 1, 'z'})
	f.Add([]byte{3, 0, 1, 1, 'a', 3, 0, 1, 1, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReassembler(sphinx.Regular.PayloadSize)
		r.maxMessages, r.maxBytes = 4, 64
		now := time.Unix(0, 0)
		for len(b) >= 4 {
			n := min(int(b[3]), len(b)-4)
			p := Piece{ID: MessageID{b[0]}, Index: int(b[1]), Count: int(b[2]), Data: b[4 : 4+n]}
			b = b[4+n:]
			if p.Count < 1 || p.Index >= p.Count {
				continue // parsePiece never yields these
			}
			now = now.Add(time.Second)
			msg, _, err := r.add(p, now)
			if err == nil && msg != nil && len(msg) > r.maxBytes {
				t.Fatalf("a %d-chunk message of %d bytes", p.Count, len(msg))
			}
			if r.pending() > r.maxMessages || r.bytes > r.maxBytes || r.bytes < 0 {
				t.Fatalf("%d pending, %d bytes", r.pending(), r.bytes)
			}
		}
	})
}

func FuzzParseAppRequest(f *testing.F) {
	a := seedAddress()
	f.Add(false, []byte(`{"type":"selfAddress"}`))
	f.Add(false, []byte(`{"type":"send","recipient":"`+a.String()+`","message":"hi"}`))
	f.Add(false, []byte(`{"type":"send","recipient":"`+a.String()+`","data":"AAEC"}`))
	f.Add(false, []byte(`{"type":"send","recipient":"`+a.String()+`","data":"AAEC","message":""}`))
	f.Add(true, append(append([]byte{BinarySend}, a.MarshalBinary()...), "hi"...))
	f.Add(true, []byte{BinaryReceived})
	f.Add(false, []byte(`{"type":"sendAnonymous","recipient":"`+a.String()+`","message":"hi","replySurbs":20}`))
	f.Add(false, []byte(`{"type":"reply","senderTag":"`+SenderTag{7}.String()+`","message":"hi"}`))
	f.Add(true, append(append(append([]byte{BinarySendAnonymous}, a.MarshalBinary()...), 5), "hi"...))
	f.Add(true, append(append([]byte{BinaryReply}, SenderTag{7}.String()...), "hi"...))
	f.Fuzz(func(t *testing.T, binary bool, b []byte) {
		r, err := ParseAppRequest(binary, b)
		if err != nil {
			if !errors.Is(err, ErrRequest) {
				t.Fatalf("error does not wrap ErrRequest: %v", err)
			}
			return
		}
		switch r.Type {
		case "selfAddress":
		case "send", "sendAnonymous", "reply":
			if r.Message == nil {
				t.Fatalf("%s without a message", r.Type)
			}
			if r.ReplySURBs > MaxSURBsPerMessage || r.Type == "sendAnonymous" && r.ReplySURBs < -1 {
				t.Fatalf("%d reply SURBs", r.ReplySURBs)
			}
		default:
			t.Fatalf("request type %q", r.Type)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add(testFileConfig().Marshal())
	f.Add([]byte("[client]\nlisten = \"127.0.0.1:1\"\n"))
	f.Add([]byte("[traffic]\naverage_send_delay = \"-5s\"\n"))
	f.Add([]byte("= ="))
	f.Add([]byte("[log]\nlevel = \"debug\"\nformat = \"json\"\n"))
	// A config as init wrote it before the client moved onto sidecar/home.
	if old, err := os.ReadFile("testdata/home-v1/config/config.toml"); err == nil {
		f.Add(old)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		// An accepted config survives being written out and read again.
		back, err := ParseConfig(c.Marshal())
		if err != nil {
			t.Fatalf("accepted config does not re-parse: %v", err)
		}
		if back != c {
			t.Fatalf("round trip changed the config: %+v → %+v", c, back)
		}
	})
}

// FuzzParseState reads arbitrary state files: it never panics, and a file
// it accepts loads into a client.
func FuzzParseState(f *testing.F) {
	n := newTestNet(f, 1)
	k := mustKeysTB(f)
	path := filepath.Join(f.TempDir(), "state.json")
	cfg := Config{GatewayURL: "ws://127.0.0.1:1/", GatewayIdentity: n.topo.Entry[0].Identity, Sender: DefaultSenderConfig(), StateFile: path}
	c, err := New(cfg, k, gatewayproto.SharedKey{}, func() *topology.Topology { return n.topo }, nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := c.Send(context.Background(), k.Address(n.topo.Exit[0].Identity), []byte("pending")); err != nil {
		f.Fatal(err)
	}
	tag, surbs, err := c.sender.makeSURBs(n.topo, k.Address(n.topo.Exit[0].Identity), 2, false)
	if err != nil {
		f.Fatal(err)
	}
	c.sender.addSURBs(tag, surbs, time.Now())
	c.slots <- struct{}{}
	c.inbox <- Message{ID: MessageID{1}, Data: []byte("unread"), SenderTag: &tag}
	c.reasm.add(Piece{ID: MessageID{2}, Index: 0, Count: 2, Data: []byte("half")}, time.Now())
	if err := c.saveState(false); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"version":"nyx-client-state-v1"}`))
	f.Add([]byte(`{"version":"nyx-client-state-v1","pending":[{"piece":"AA=="}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseState(b, sphinx.Regular); err != nil {
			if !errors.Is(err, errState) {
				t.Fatalf("error does not wrap errState: %v", err)
			}
			return
		}
		p := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := cfg
		cfg.StateFile = p
		cfg.ReceiveBuffer = 1 << 20
		c, err := New(cfg, k, gatewayproto.SharedKey{}, func() *topology.Topology { return n.topo }, nil)
		if err != nil {
			t.Fatalf("an accepted state does not load: %v", err)
		}
		c.journal.close()
	})
}

// TestStateRoundTrip: what a stopped client held comes back in a new one:
// chunks to send again, unread messages, incomplete messages, reply keys,
// tags and held SURBs.
func TestStateRoundTrip(t *testing.T) {
	n := newTestNet(t, 1)
	k := mustKeys(t)
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{GatewayURL: "ws://127.0.0.1:1/", GatewayIdentity: n.topo.Entry[0].Identity, Sender: DefaultSenderConfig(), StateFile: path}
	topo := func() *topology.Topology { return n.topo }
	c, err := New(cfg, k, gatewayproto.SharedKey{}, topo, nil)
	if err != nil {
		t.Fatal(err)
	}
	to := k.Address(n.topo.Exit[0].Identity)
	if _, err := c.SendAnonymous(context.Background(), to, make([]byte, 3000), 3); err != nil {
		t.Fatal(err)
	}
	held, surbs, _ := c.sender.makeSURBs(n.topo, to, 4, false)
	c.sender.addSURBs(SenderTag{7}, surbs, time.Now())
	c.slots <- struct{}{}
	c.inbox <- Message{ID: MessageID{1}, Data: []byte("unread")}
	c.reasm.add(Piece{ID: MessageID{2}, Index: 0, Count: 2, Data: []byte("half")}, time.Now())
	c.reasm.seen.add(MessageID{3}, time.Now())
	if err := c.saveState(false); err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, k, gatewayproto.SharedKey{}, topo, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The state read back is written again at once, as the snapshot a
	// receive journal is replayed over after a kill.
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no snapshot after the state was read: %v", err)
	}
	if fi, err := os.Stat(journalPath(path)); err != nil || fi.Size() != 0 {
		t.Fatalf("the receive journal is not empty at the start: %v", err)
	}
	chunks := (18 + 3*surbRecordSize + 3000 + ChunkCapacity(sphinx.Regular.PayloadSize) - 1) / ChunkCapacity(sphinx.Regular.PayloadSize)
	if st := d.Stats(); st.Pending != chunks || len(d.sender.retx) != chunks {
		t.Fatalf("%d chunks to send again, want %d", st.Pending, chunks)
	}
	if m, err := d.Receive(context.Background()); err != nil || string(m.Data) != "unread" {
		t.Fatalf("unread message: %+v %v", m, err)
	}
	if d.HeldSURBs(SenderTag{7}) != 4 || d.sender.outstanding(held) != 7 || len(d.sender.replies.keys) != 7 {
		t.Fatalf("held %d, outstanding %d, keys %d", d.HeldSURBs(SenderTag{7}), d.sender.outstanding(held), len(d.sender.replies.keys))
	}
	if msg, _, err := d.reasm.add(Piece{ID: MessageID{2}, Index: 1, Count: 2, Data: []byte("!")}, time.Now()); err != nil || string(msg) != "half!" {
		t.Fatalf("incomplete message: %q %v", msg, err)
	}
	if _, _, err := d.reasm.add(Piece{ID: MessageID{3}, Count: 1}, time.Now()); !errors.Is(err, errDuplicate) {
		t.Fatalf("a message seen before the restart: %v", err)
	}
}

// FuzzJournal reads arbitrary journal files: it never panics, and what it
// keeps are whole records that encode back to the bytes read, in order.
func FuzzJournal(f *testing.F) {
	frame := func(recs ...[]byte) []byte {
		var out []byte
		for _, r := range recs {
			var h [8]byte
			binary.BigEndian.PutUint32(h[:], uint32(len(r)))
			binary.BigEndian.PutUint32(h[4:], crc32.Checksum(r, crcTable))
			out = append(append(out, h[:]...), r...)
		}
		return out
	}
	f.Add(frame(chunkRecord([]byte("piece"), false, SenderTag{}), takenRecord(MessageID{1})))
	f.Add(frame(chunkRecord(nil, true, SenderTag{1, 2})))
	f.Add(frame([]byte{recTaken}))
	f.Add(frame(padRecord(100), takenRecord(MessageID{2})))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var re [][]byte
		for _, r := range readJournal(b) {
			switch r.kind {
			case recChunk:
				re = append(re, chunkRecord(r.plain, r.reply, r.rtag))
			case recTaken:
				re = append(re, takenRecord(r.id))
			case recPad:
				re = append(re, append([]byte{recPad}, r.plain...))
			default:
				t.Fatalf("record of kind %d kept", r.kind)
			}
		}
		if enc := frame(re...); !bytes.HasPrefix(b, enc) {
			t.Fatal("the records kept are not the file's first records")
		}
	})
}
