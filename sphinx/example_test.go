package sphinx_test

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/nyx-privacy/nyx/sphinx"
)

// A packet through three mix nodes and a gateway.
func Example() {
	type node struct {
		id  sphinx.NodeAddress
		key *sphinx.PrivateKey
	}
	nodes := make([]node, 4)
	route := make([]sphinx.Hop, 4)
	for i := range nodes {
		key, err := sphinx.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		nodes[i] = node{id: sphinx.NodeAddress{byte(i + 1)}, key: key}
		route[i] = sphinx.Hop{Address: nodes[i].id, PublicKey: key.PublicKey(), Delay: 15 * time.Millisecond}
	}
	dst := sphinx.Destination{Address: sphinx.DestinationAddress{0xb0, 0xb0}}
	packet, err := sphinx.Regular.NewPacket(rand.Reader, route, dst, []byte("hello"))
	if err != nil {
		panic(err)
	}

	filter, err := sphinx.NewReplayFilter(1000, time.Hour, 1e-5)
	if err != nil {
		panic(err)
	}
	for _, n := range nodes {
		// In place; a replay would give sphinx.ErrReplay.
		res, err := sphinx.Regular.ProcessHopFiltered(packet, n.key, packet, filter)
		if err != nil {
			panic(err)
		}
		switch res.Action {
		case sphinx.Forward:
			fmt.Printf("forward %d bytes to node %d after %v\n", len(res.Packet), res.NextHop[0], res.Delay)
		case sphinx.Deliver:
			fmt.Printf("deliver %q to %x\n", res.Payload[:5], res.Destination[:2])
		}
	}
	// Output:
	// forward 2397 bytes to node 2 after 15ms
	// forward 2397 bytes to node 3 after 15ms
	// forward 2397 bytes to node 4 after 15ms
	// deliver "hello" to b0b0
}

// A reply through a SURB: the correspondent learns neither the route nor
// the address of the SURB's creator.
func ExampleGeometry_NewReply() {
	var keys []*sphinx.PrivateKey
	var route []sphinx.Hop
	for i := 0; i < 4; i++ {
		key, _ := sphinx.GenerateKey(rand.Reader)
		keys = append(keys, key)
		route = append(route, sphinx.Hop{Address: sphinx.NodeAddress{byte(i + 1)}, PublicKey: key.PublicKey()})
	}
	me := sphinx.Destination{Address: sphinx.DestinationAddress{0xa1}, Identifier: sphinx.Identifier{42}}
	surb, err := sphinx.Regular.NewSURB(rand.Reader, route, me)
	if err != nil {
		panic(err)
	}
	wire, _ := surb.MarshalBinary() // sent to the correspondent inside a message

	// The correspondent:
	theirs, err := sphinx.Regular.ParseSURB(wire)
	if err != nil {
		panic(err)
	}
	packet, err := sphinx.Regular.NewReply(theirs, []byte("got it"))
	if err != nil {
		panic(err)
	}
	fmt.Println("send to node", theirs.FirstHop()[0])

	// The mix network:
	for _, k := range keys {
		res, err := sphinx.Regular.ProcessHop(k, packet)
		if err != nil {
			panic(err)
		}
		packet = res.Packet
		if res.Action == sphinx.Deliver {
			fmt.Printf("%q for %x, identifier %d\n", res.Payload[:6], res.Destination[:1], res.Identifier[0])
		}
	}
	// Output:
	// send to node 1
	// "got it" for a1, identifier 42
}
