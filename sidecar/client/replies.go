package client

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Anonymous messages and replies.
//
// The asker (SendAnonymous) sends its message with a random sender tag (one
// per recipient) and reply SURBs instead of its address. Each SURB is a
// route through the mix layers to the asker's own gateway, made with the
// nodes' current Sphinx keys, and comes with a fresh reply key the asker
// keeps (by its digest) until the reply comes or the SURB expires. The
// replier keeps the SURBs under the tag and answers with Reply: one SURB
// per chunk, each chunk sealed with the SURB's reply key. A replier that
// holds fewer SURBs than a reply needs parks the reply and, with one SURB
// it keeps for the purpose, asks the asker for more; the asker also tops
// a tag up unasked when replies have used up most of what it gave. Both
// sides drop a SURB (and its reply key) once the Sphinx keys it was made
// with may be gone, and bound what they hold.

// ReplyConfig tunes and bounds reply SURBs. A zero field takes its default.
type ReplyConfig struct {
	// SURBs is how many reply SURBs an anonymous message carries when the
	// caller does not say, and how many a top-up gives. Default 10 (Nym's).
	SURBs int `toml:"reply_surbs"`
	// Lifetime bounds how long a SURB is used, and so its reply key kept
	// (less when a node on its route has announced its next key: then it
	// lasts until the end of the epoch). Default 1 h.
	Lifetime tomltime.Duration `toml:"surb_lifetime"`
	// LowWater: a replier with fewer SURBs for a tag after a reply asks for
	// more; an asker whose outstanding SURBs for a tag fall below it tops
	// them up. Default 5.
	LowWater int `toml:"-"`
	// MaxPerTag bounds the SURBs a replier holds for one tag, and those an
	// asker has outstanding with one recipient. Default 200 (Nym's).
	MaxPerTag int `toml:"max_surbs_per_tag"`
	// MaxTags bounds the tags a replier holds SURBs for; the least recently
	// used goes first. Default 1000.
	MaxTags int `toml:"max_sender_tags"`
	// MaxReplyKeys bounds the reply keys an asker keeps. Default 20000.
	MaxReplyKeys int `toml:"max_reply_keys"`
	// Wait is how long a reply waits for SURBs before it is reported
	// failed. Default 30 s.
	Wait tomltime.Duration `toml:"reply_wait"`
}

// DefaultReplyConfig returns the defaults.
func DefaultReplyConfig() ReplyConfig {
	return ReplyConfig{SURBs: 10, Lifetime: tomltime.Duration(time.Hour), LowWater: 5, MaxPerTag: 200, MaxTags: 1000, MaxReplyKeys: 20000, Wait: tomltime.Duration(30 * time.Second)}
}

func (c ReplyConfig) withDefaults() ReplyConfig {
	d := DefaultReplyConfig()
	for _, f := range []struct{ v, d *int }{{&c.SURBs, &d.SURBs}, {&c.LowWater, &d.LowWater}, {&c.MaxPerTag, &d.MaxPerTag},
		{&c.MaxTags, &d.MaxTags}, {&c.MaxReplyKeys, &d.MaxReplyKeys}} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	if c.Lifetime == 0 {
		c.Lifetime = d.Lifetime
	}
	if c.Wait == 0 {
		c.Wait = d.Wait
	}
	c.SURBs = min(c.SURBs, MaxSURBsPerMessage)
	return c
}

// Errors of anonymous sends and replies.
var (
	ErrUnknownTag      = errors.New("client: no reply SURBs from this sender tag")
	ErrTooManyReplyKey = errors.New("client: too many reply SURBs outstanding")
)

// replyState is the sender's reply bookkeeping, under Sender.mu.
type replyState struct {
	// asker side
	keys    map[[replyDigestSize]byte]replyKey
	tags    map[Address]SenderTag
	tagAddr map[SenderTag]Address
	given   map[SenderTag]int // SURBs outstanding per tag
	// replier side
	held map[SenderTag]*heldSURBs

	expiredSURBs, expiredKeys, unknownReplies uint64
}

type replyKey struct {
	key     [ReplyKeySize]byte
	tag     SenderTag
	expires time.Time
}

type heldSURBs struct {
	surbs    []ReplySURB
	parked   []*job
	lastAsk  time.Time
	askLater bool
	used     time.Time
}

func (r *replyState) init() {
	r.keys = map[[replyDigestSize]byte]replyKey{}
	r.tags = map[Address]SenderTag{}
	r.tagAddr = map[SenderTag]Address{}
	r.given = map[SenderTag]int{}
	r.held = map[SenderTag]*heldSURBs{}
}

// SendAnonymous queues message for the recipient with surbs reply SURBs
// (the default number if surbs is negative, at most MaxSURBsPerMessage)
// and this client's sender tag for the recipient instead of its address.
func (s *Sender) SendAnonymous(to Address, data []byte, surbs int) (MessageID, error) {
	if err := s.checkSize(data); err != nil {
		return MessageID{}, err
	}
	if surbs < 0 {
		surbs = s.cfg.Replies.SURBs
	}
	if surbs > MaxSURBsPerMessage {
		return MessageID{}, fmt.Errorf("%w: %d reply SURBs, at most %d", ErrRequest, surbs, MaxSURBsPerMessage)
	}
	t := s.topo()
	if t == nil {
		return MessageID{}, ErrNoTopology
	}
	tag, rs, err := s.makeSURBs(t, to, surbs, false)
	if err != nil {
		return MessageID{}, err
	}
	id, err := s.sendTo(to, &message{kind: kindAnonymous, tag: tag, surbs: rs, data: data}, false)
	if err != nil {
		s.forgetSURBs(tag, rs)
	}
	return id, err
}

// makeSURBs makes n reply SURBs for the tag this client uses with to (made
// on first use), keeping their reply keys. Bounded mode (top-ups) makes no
// more than keeps the tag's outstanding SURBs within MaxPerTag.
func (s *Sender) makeSURBs(t *topology.Topology, to Address, n int, bounded bool) (SenderTag, []ReplySURB, error) {
	gw, err := recipientGateway(t, s.self)
	if err != nil {
		return SenderTag{}, nil, fmt.Errorf("reply SURBs: own gateway: %w", err)
	}
	now := time.Now()
	s.mu.Lock()
	r := &s.replies
	tag, ok := r.tags[to]
	if !ok {
		if _, err := rand.Read(tag[:]); err != nil {
			s.mu.Unlock()
			return tag, nil, err
		}
		r.tags[to], r.tagAddr[tag] = tag, to
	}
	if bounded {
		n = min(n, s.cfg.Replies.MaxPerTag-r.given[tag])
	}
	s.pruneKeysLocked(now)
	if len(r.keys)+n > s.cfg.Replies.MaxReplyKeys {
		s.mu.Unlock()
		return tag, nil, fmt.Errorf("%w: %d reply keys kept, at most %d", ErrTooManyReplyKey, len(r.keys), s.cfg.Replies.MaxReplyKeys)
	}
	s.mu.Unlock()
	out := make([]ReplySURB, 0, max(n, 0))
	for range n {
		route, rotating, err := s.surbRoute(t, gw)
		if err != nil {
			return tag, nil, err
		}
		var dst sphinx.Destination
		dst.Address = sphinx.DestinationAddress(s.self.Identity)
		rand.Read(dst.Identifier[:])
		surb, err := s.cfg.Geometry.NewSURB(rand.Reader, route, dst)
		if err != nil {
			return tag, nil, fmt.Errorf("reply SURB: %w", err)
		}
		rs := ReplySURB{SURB: surb, Expires: now.Add(time.Duration(s.cfg.Replies.Lifetime))}
		if rotating && t.EpochEnd.Before(rs.Expires) {
			rs.Expires = t.EpochEnd
		}
		// A SURB outliving its route's keys is lost, and would count as
		// outstanding until it expired: the replier would use it to no
		// effect, and the asker would not top up.
		if until := t.KeysHeldUntil(); !until.IsZero() && until.Before(rs.Expires) {
			rs.Expires = until
		}
		rand.Read(rs.Key[:])
		out = append(out, rs)
	}
	s.mu.Lock()
	for _, rs := range out {
		r.keys[replyDigest(rs.Key)] = replyKey{key: rs.Key, tag: tag, expires: rs.Expires}
	}
	r.given[tag] += len(out)
	s.mu.Unlock()
	return tag, out, nil
}

// surbRoute is a route for a reply SURB to the client's own gateway, and
// whether a node on it has announced its next key (so that its current key,
// which the SURB is made with, goes at the epoch's end).
func (s *Sender) surbRoute(t *topology.Topology, gw topology.Node) ([]sphinx.Hop, bool, error) {
	route := make([]sphinx.Hop, 0, 4)
	rotating := gw.NextSphinxKey != nil
	for l := 1; l <= 3; l++ {
		layer := t.Layer(l)
		if len(layer) == 0 {
			return nil, false, fmt.Errorf("mix layer %d is empty in epoch %d", l, t.Epoch)
		}
		n := layer[s.intN(len(layer))]
		rotating = rotating || n.NextSphinxKey != nil
		route = append(route, n.Hop(s.exp(time.Duration(s.cfg.AveragePacketDelay))))
	}
	return append(route, gw.Hop(s.exp(time.Duration(s.cfg.AveragePacketDelay)))), rotating, nil
}

func (s *Sender) forgetSURBs(tag SenderTag, rs []ReplySURB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range rs {
		delete(s.replies.keys, replyDigest(x.Key))
	}
	s.replies.given[tag] -= len(rs)
}

func (s *Sender) pruneKeysLocked(now time.Time) {
	r := &s.replies
	for d, k := range r.keys {
		if !now.Before(k.expires) {
			delete(r.keys, d)
			r.given[k.tag]--
			r.expiredKeys++
		}
	}
}

// Reply queues data for the anonymous sender of tag, over the SURBs it sent.
// Without enough SURBs the reply waits for more (asked for) up to
// ReplyConfig.Wait, then it is reported failed.
func (s *Sender) Reply(tag SenderTag, data []byte) (MessageID, error) {
	if err := s.checkSize(data); err != nil {
		return MessageID{}, err
	}
	return s.reply(tag, &message{kind: kindReply, data: data}, false)
}

func (s *Sender) reply(tag SenderTag, m *message, internal bool) (MessageID, error) {
	b, err := m.marshal()
	if err != nil {
		return MessageID{}, err
	}
	jobs, ms, err := s.jobs(b, internal)
	if err != nil {
		return MessageID{}, err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.replies.held[tag]
	if h == nil {
		return MessageID{}, fmt.Errorf("%w: %s", ErrUnknownTag, tag)
	}
	if err := s.roomLocked(len(jobs)); err != nil {
		return MessageID{}, err
	}
	h.used = now
	s.dropExpiredLocked(h, now)
	for _, j := range jobs {
		j.reply, j.tag = true, tag
	}
	// One SURB stays back to ask for more with, unless this is the ask.
	reserve := 1
	if internal {
		reserve = 0
	}
	if len(h.surbs)-reserve >= len(jobs) {
		for _, j := range jobs {
			j.surb = &h.surbs[0]
			h.surbs = h.surbs[1:]
		}
		s.queueLocked(jobs)
		if !internal && len(h.surbs) < s.cfg.Replies.LowWater {
			s.askLocked(tag, h, s.cfg.Replies.SURBs, now)
		}
		return ms.id, nil
	}
	s.inflight += len(jobs)
	for _, j := range jobs {
		s.parkLocked(j)
	}
	s.askLocked(tag, h, len(jobs)-len(h.surbs)+s.cfg.Replies.SURBs, now)
	return ms.id, nil
}

// askInterval spaces a replier's requests for more SURBs of one tag (a
// request is acknowledged and sent again like any packet; the asker's
// top-up takes a round trip).
const askInterval = 2 * time.Second

// askLocked asks the sender of tag for want more SURBs, with a SURB of the
// tag, unless it has none. If it asked a moment ago, it asks again when
// the interval is over should replies still wait.
func (s *Sender) askLocked(tag SenderTag, h *heldSURBs, want int, now time.Time) {
	if len(h.surbs) == 0 {
		return
	}
	if wait := askInterval - now.Sub(h.lastAsk); wait > 0 {
		if !h.askLater {
			h.askLater = true
			time.AfterFunc(wait, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				h.askLater = false
				if len(h.parked) > 0 && s.replies.held[tag] == h {
					s.askLocked(tag, h, want, time.Now())
				}
			})
		}
		return
	}
	want = max(1, min(want, MaxSURBsPerMessage))
	b, _ := (&message{kind: kindSURBAsk, want: want}).marshal()
	jobs, _, err := s.jobs(b, true)
	if err != nil {
		return
	}
	h.lastAsk = now
	j := jobs[0]
	j.reply, j.tag, j.surb = true, tag, &h.surbs[0]
	h.surbs = h.surbs[1:]
	s.inflight++
	s.retx = append([]*job{j}, s.retx...)
	s.wakeUp()
}

// parkLocked holds a reply chunk until SURBs for its tag come, at most
// ReplyConfig.Wait.
func (s *Sender) parkLocked(j *job) {
	h := s.replies.held[j.tag]
	if h == nil {
		s.failLocked(j.msg, fmt.Errorf("%w: %w", ErrNotDelivered, ErrUnknownTag))
		s.finishLocked(j)
		return
	}
	h.parked = append(h.parked, j)
	var id ackID
	rand.Read(id[:])
	j.ack = id
	s.pending[id] = j
	j.timer = time.AfterFunc(time.Duration(s.cfg.Replies.Wait), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.pending[id] != j {
			return
		}
		delete(s.pending, id)
		s.failLocked(j.msg, fmt.Errorf("%w: no reply SURBs came for sender tag %s", ErrNotDelivered, j.tag))
		s.finishLocked(j)
	})
}

func (s *Sender) dropExpiredLocked(h *heldSURBs, now time.Time) {
	kept := h.surbs[:0]
	for _, x := range h.surbs {
		if now.Before(x.Expires) {
			kept = append(kept, x)
		} else {
			s.replies.expiredSURBs++
		}
	}
	h.surbs = kept
}

// takeSURBLocked takes a SURB of tag for a chunk being sent again.
func (s *Sender) takeSURBLocked(tag SenderTag, now time.Time) *ReplySURB {
	h := s.replies.held[tag]
	if h == nil {
		return nil
	}
	s.dropExpiredLocked(h, now)
	if len(h.surbs) == 0 {
		return nil
	}
	x := h.surbs[0]
	h.surbs = h.surbs[1:]
	return &x
}

// addSURBs keeps SURBs a sender gave for tag (dropping expired ones and
// those beyond the bounds) and sends the replies that waited for them.
func (s *Sender) addSURBs(tag SenderTag, surbs []ReplySURB, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.replies
	h := r.held[tag]
	if h == nil {
		if len(r.held) >= s.cfg.Replies.MaxTags {
			s.evictTagLocked()
		}
		h = &heldSURBs{}
		r.held[tag] = h
	}
	h.used = now
	for _, x := range surbs {
		if !now.Before(x.Expires) {
			r.expiredSURBs++
			continue
		}
		if len(h.surbs) < s.cfg.Replies.MaxPerTag {
			h.surbs = append(h.surbs, x)
		}
	}
	for len(h.parked) > 0 && len(h.surbs) > 0 {
		j := h.parked[0]
		h.parked = h.parked[1:]
		if j.done || s.pending[j.ack] != j {
			continue
		}
		delete(s.pending, j.ack)
		j.timer.Stop()
		j.surb = &h.surbs[0]
		h.surbs = h.surbs[1:]
		s.retx = append(s.retx, j)
	}
	s.wakeUp()
}

// evictTagLocked forgets the least recently used tag without parked replies.
func (s *Sender) evictTagLocked() {
	var oldest SenderTag
	var at time.Time
	found := false
	for tag, h := range s.replies.held {
		if len(h.parked) == 0 && (!found || h.used.Before(at)) {
			oldest, at, found = tag, h.used, true
		}
	}
	if found {
		delete(s.replies.held, oldest)
	}
}

// sweepReplies drops expired reply keys and SURBs.
func (s *Sender) sweepReplies(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneKeysLocked(now)
	for _, h := range s.replies.held {
		s.dropExpiredLocked(h, now)
	}
}

// openContent opens a content envelope: a reply (by its reply key, used
// once) or a message sealed to the client. For a reply it returns the tag
// the reply answers.
func (s *Sender) openContent(c *Client, content []byte, now time.Time) (plain []byte, reply bool, tag SenderTag, err error) {
	if len(content) >= replyDigestSize {
		s.mu.Lock()
		d := [replyDigestSize]byte(content[:replyDigestSize])
		k, ok := s.replies.keys[d]
		s.mu.Unlock()
		if ok {
			if !now.Before(k.expires) {
				s.mu.Lock()
				s.pruneKeysLocked(now)
				s.mu.Unlock()
				return nil, false, tag, fmt.Errorf("%w: reply over an expired SURB", ErrSealed)
			}
			if plain, err = openReply(k.key, content); err == nil {
				s.mu.Lock()
				if _, still := s.replies.keys[d]; still {
					delete(s.replies.keys, d)
					s.replies.given[k.tag]--
				}
				s.mu.Unlock()
				return plain, true, k.tag, nil
			}
		}
	}
	plain, err = openSealed(c.keys.Encryption, content)
	return plain, false, tag, err
}

// topUp gives the replier of tag n more SURBs (asked, or unasked when the
// asker can tell it is running low).
func (s *Sender) topUp(tag SenderTag, n int) error {
	s.mu.Lock()
	to, ok := s.replies.tagAddr[tag]
	s.mu.Unlock()
	if !ok {
		return ErrUnknownTag
	}
	t := s.topo()
	if t == nil {
		return ErrNoTopology
	}
	_, rs, err := s.makeSURBs(t, to, min(n, MaxSURBsPerMessage), true)
	if err != nil || len(rs) == 0 {
		return err
	}
	if _, err := s.sendTo(to, &message{kind: kindSURBs, tag: tag, surbs: rs}, true); err != nil {
		s.forgetSURBs(tag, rs)
		return err
	}
	return nil
}

// outstanding is how many SURBs the asker has given for tag and not seen
// used or expire.
func (s *Sender) outstanding(tag SenderTag) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replies.given[tag]
}

// HeldSURBs is how many unexpired SURBs the client holds for tag.
func (s *Sender) HeldSURBs(tag SenderTag) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.replies.held[tag]
	if h == nil {
		return 0
	}
	s.dropExpiredLocked(h, time.Now())
	return len(h.surbs)
}

// HeldSURBBytes returns the encoded SURBs (sphinx SURB encoding) held for
// tag, concatenated: what a replier knows of the sender of tag.
func (s *Sender) HeldSURBBytes(tag SenderTag) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.replies.held[tag]
	if h == nil {
		return nil
	}
	var out []byte
	for _, x := range h.surbs {
		b, err := x.SURB.MarshalBinary()
		if err == nil {
			out = append(out, b...)
		}
	}
	return out
}

// outstandingTo is how many SURBs the asker has outstanding with to.
func (s *Sender) outstandingTo(to Address) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	tag, ok := s.replies.tags[to]
	if !ok {
		return 0
	}
	return s.replies.given[tag]
}

// topUpTo gives to n more SURBs under the tag this client uses with it,
// and returns how many it gave.
func (s *Sender) topUpTo(to Address, n int) (int, error) {
	s.mu.Lock()
	tag, ok := s.replies.tags[to]
	s.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("%w: nothing sent anonymously to %s yet", ErrUnknownTag, to)
	}
	t := s.topo()
	if t == nil {
		return 0, ErrNoTopology
	}
	_, rs, err := s.makeSURBs(t, to, min(n, MaxSURBsPerMessage), true)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	if _, err := s.sendTo(to, &message{kind: kindSURBs, tag: tag, surbs: rs}, true); err != nil {
		s.forgetSURBs(tag, rs)
		return 0, err
	}
	return len(rs), nil
}
