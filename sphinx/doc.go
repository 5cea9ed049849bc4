// Package sphinx implements Nyx's Sphinx packet format: fixed-size,
// layer-encrypted packets that look alike at every hop of a mix network,
// with single-use reply blocks (SURBs) and per-hop replay tags.
//
// The format is specified byte for byte in SPEC.md beside this file, and
// testdata/vectors.json holds test vectors for other implementations.
//
// # Geometry
//
// Every size comes from a Geometry: the number of hops a header has room
// for and the number of message bytes a packet carries. The standard ones
// have room for 5 hops and carry 2048 bytes (Regular), 32 bytes (Ack) or
// 8, 16 and 32 KiB (Extended8, Extended16, Extended32). A node picks the
// geometry of a received packet from its length with GeometryForPacketSize.
//
// # Keys and addresses
//
// Nodes have an X25519 PrivateKey; senders know its PublicKey, parsed with
// NewPublicKey, which refuses non-canonical, twist and low-order points.
// Routing information names the next node by its NodeAddress (its 32-byte
// ed25519 identity key) and the recipient by a DestinationAddress (the
// client's 32-byte identity key) plus a 16-byte Identifier.
//
// # Sending
//
// A client builds a packet for a route of 1..MaxHops nodes (Nyx uses mix
// layers 1, 2, 3 and the recipient's gateway), each with the delay it is to
// apply, and sends it to the first hop:
//
//	route := []sphinx.Hop{
//		{Address: l1.ID, PublicKey: l1.Key, Delay: d1},
//		{Address: l2.ID, PublicKey: l2.Key, Delay: d2},
//		{Address: l3.ID, PublicKey: l3.Key, Delay: d3},
//		{Address: gw.ID, PublicKey: gw.Key, Delay: 0},
//	}
//	packet, err := sphinx.Regular.NewPacket(rand.Reader, route, sphinx.Destination{Address: bob}, message)
//
// # Processing
//
// A mix node or gateway processes each packet with its private key and its
// replay filter, and acts on the result:
//
//	res, err := g.ProcessHopFiltered(buf, key, packet, filter)
//	if err != nil { drop } // bad MAC, replay, wrong key, tampered payload, ...
//	switch res.Action {
//	case sphinx.Forward: // send res.Packet to res.NextHop after res.Delay
//	case sphinx.Deliver: // store res.Payload for res.Destination (res.Identifier)
//	}
//
// ProcessHopInto and ProcessHop do the same without the filter (the caller
// then checks Result.ReplayTag itself). A hop costs two X25519
// multiplications (one at the final hop, one for a refused packet) plus
// symmetric work, and one allocation with ProcessHopFiltered or
// ProcessHopInto (both may process in place) or two with ProcessHop. The header MAC is verified before
// anything else in the packet is used; a packet that fails it is refused
// without any change to any buffer.
//
// # Replies
//
// A client that wants an answer makes a SURB for a route back to itself and
// sends its bytes (MarshalBinary) inside a message. The correspondent parses
// it with ParseSURB and sends NewReply's packet to FirstHop. The reply is
// built exactly like a forward packet, so no hop can tell them apart, and the
// correspondent learns neither the route nor the client's address.
//
// # Replays
//
// ReplayFilter is a concurrent Bloom filter of replay tags, sized from a
// packet rate, a key epoch and a false-positive target; a node keeps one per
// Sphinx key and discards it when the key rotates.
package sphinx
