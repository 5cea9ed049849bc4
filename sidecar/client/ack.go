package client

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Acknowledgements. Every packet a client sends carries a SURB-ACK
// (gatewayproto.SplitSURBAck): an ack-size Sphinx packet over a fresh random
// route (one node per mix layer) back to the sender's own gateway, whose
// payload is
//
//	ack id (16, random) || HMAC-SHA256(ack key, "nyx-client-v2 ack" || ack id)[:16]
//
// The recipient's gateway sends it on when it has the packet. Back at the
// sender, an ack whose MAC verifies and whose id is pending ends that
// packet's retransmissions; any other ack (a forgery, a replay, the ack of a
// packet retransmitted already, the ack of a loop cover packet) changes
// nothing. The ack key is derived from the client's encryption key, so it
// survives a restart without a file of its own.

const (
	ackIDSize    = 16
	ackKeyLabel  = "nyx-client-v2 ack-key"
	ackMACLabel  = "nyx-client-v2 ack"
	ackMACLength = 16
)

// The ack payload fills the ack geometry exactly.
var _ [sphinx.SecurityParameter*2 - ackIDSize - ackMACLength]struct{}

type ackID [ackIDSize]byte

type ackKey []byte

func deriveAckKey(k *Keys) (ackKey, error) {
	key, err := hkdf.Key(sha256.New, k.Encryption.Bytes(), nil, ackKeyLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("derive ack key: %w", err)
	}
	return key, nil
}

func (k ackKey) mac(id ackID) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(ackMACLabel))
	m.Write(id[:])
	return m.Sum(nil)[:ackMACLength]
}

// payload is the ack payload for id.
func (k ackKey) payload(id ackID) []byte {
	return append(append(make([]byte, 0, sphinx.Ack.PayloadSize), id[:]...), k.mac(id)...)
}

// errForgedAck: an ack payload whose MAC does not verify.
var errForgedAck = errors.New("client: ack does not verify")

// open checks an ack payload and returns its id.
func (k ackKey) open(p []byte) (ackID, error) {
	if len(p) != sphinx.Ack.PayloadSize {
		return ackID{}, fmt.Errorf("%w: %d bytes", errForgedAck, len(p))
	}
	id := ackID(p[:ackIDSize])
	if !hmac.Equal(k.mac(id), p[ackIDSize:]) {
		return ackID{}, errForgedAck
	}
	return id, nil
}

// route picks one random node of each mix layer and ends at last, each hop
// with an exponential delay; it returns the route and the sum of its
// delays.
func (s *Sender) route(t *topology.Topology, last topology.Node) ([]sphinx.Hop, time.Duration, error) {
	route := make([]sphinx.Hop, 0, 4)
	var sum time.Duration
	for l := 1; l <= 3; l++ {
		layer := t.Layer(l)
		if len(layer) == 0 {
			return nil, 0, fmt.Errorf("mix layer %d is empty in epoch %d", l, t.Epoch)
		}
		d := s.exp(time.Duration(s.cfg.AveragePacketDelay))
		sum += d
		route = append(route, layer[s.intN(len(layer))].Hop(d))
	}
	d := s.exp(time.Duration(s.cfg.AveragePacketDelay))
	return append(route, last.Hop(d)), sum + d, nil
}

// surbAck makes a SURB-ACK for id: the ack packet over a fresh route back
// to the client's own gateway, its first hop and the route's delays.
func (s *Sender) surbAck(t *topology.Topology, id ackID) (first [32]byte, packet []byte, delays time.Duration, err error) {
	gw, err := recipientGateway(t, s.self)
	if err != nil {
		return first, nil, 0, fmt.Errorf("SURB-ACK: own gateway: %w", err)
	}
	route, delays, err := s.route(t, gw)
	if err != nil {
		return first, nil, 0, err
	}
	var dst sphinx.Destination
	dst.Address = sphinx.DestinationAddress(s.self.Identity)
	if _, err := rand.Read(dst.Identifier[:]); err != nil {
		return first, nil, 0, err
	}
	packet, err = sphinx.Ack.NewPacket(rand.Reader, route, dst, s.ackKey.payload(id))
	if err != nil {
		return first, nil, 0, fmt.Errorf("SURB-ACK: %w", err)
	}
	return [32]byte(route[0].Address), packet, delays, nil
}

// withSURBAck prefixes content with a fresh SURB-ACK for id.
func (s *Sender) withSURBAck(t *topology.Topology, id ackID, content []byte) ([]byte, time.Duration, error) {
	first, ack, delays, err := s.surbAck(t, id)
	if err != nil {
		return nil, 0, err
	}
	p, err := gatewayproto.JoinSURBAck(first, ack, content)
	return p, delays, err
}

// ackTimeout is how long the sender waits for the ack of a packet whose
// forward route and SURB-ACK route hold it for rtt in all (the sum of their
// sampled delays), on its attempt-th transmission (1 for the first):
// 1.5 rtt + AckWait, doubled for each retransmission, at most MaxAckWait.
// The measured RTT beyond the sampled delays (a few ms per hop on
// loopback; see README.md) is what AckWait covers.
func (c SenderConfig) ackTimeout(rtt time.Duration, attempt int) time.Duration {
	d, most := rtt*3/2+time.Duration(c.AckWait), time.Duration(c.MaxAckWait)
	for i := 1; i < attempt && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// timeout runs when the ack of j's transmission id did not come in time.
func (s *Sender) timeout(j *job, id ackID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[id] != j {
		return
	}
	delete(s.pending, id)
	if j.done {
		return
	}
	if j.attempts > s.cfg.MaxRetransmissions {
		s.failLocked(j.msg, fmt.Errorf("%w after %d transmissions", ErrNotDelivered, j.attempts))
		s.finishLocked(j)
		return
	}
	s.retx = append(s.retx, j)
	s.wakeUp()
}

// failLocked gives up on a message: its other chunks are dropped where
// they are (queue, retransmissions, pending acks) as they come up.
func (s *Sender) failLocked(m *msgState, err error) {
	if m.done {
		return
	}
	m.done = true
	s.undelivered.Add(1)
	s.report(m, err)
}

func (s *Sender) finishLocked(j *job) {
	if !j.done {
		j.done = true
		s.inflight--
	}
	if j.msg.done {
		// Drop the message's other jobs still pending an ack now, so their
		// room comes back at once.
		for id, o := range s.pending {
			if o.msg == j.msg && !o.done {
				o.timer.Stop()
				delete(s.pending, id)
				o.done = true
				s.inflight--
			}
		}
	}
}

func (s *Sender) report(m *msgState, err error) {
	if m.internal {
		return
	}
	select {
	case s.reports <- Report{ID: m.id, Err: err}:
	default:
		s.reportsLost.Add(1)
	}
}

// handleAck takes an ack payload that came back to the client.
func (s *Sender) handleAck(p []byte) {
	id, err := s.ackKey.open(p)
	if err != nil {
		s.forgedAcks.Add(1)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.pending[id]
	if j == nil {
		// Cover's ack, or a packet's sent again or given up on.
		s.otherAcks.Add(1)
		return
	}
	delete(s.pending, id)
	j.timer.Stop()
	s.acked.Add(1)
	if j.done {
		return
	}
	s.finishLocked(j)
	m := j.msg
	m.left--
	if m.left == 0 && !m.done {
		m.done = true
		s.delivered.Add(1)
		s.report(m, nil)
	}
}
