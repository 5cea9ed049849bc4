package explorer

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
)

// gogoCodec encodes gRPC messages with their own gogoproto Marshal and
// Unmarshal. grpc's default codec goes through protobuf reflection, which
// cannot represent the custom Go types (math.Int) of some x/mixnet responses
// (RewardPool panics); the SDK's own clients force a codec for the same reason.
type gogoCodec struct{}

type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

func (gogoCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(gogoMessage)
	if !ok {
		return nil, fmt.Errorf("explorer codec: cannot marshal %T", v)
	}
	return m.Marshal()
}

func (gogoCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(gogoMessage)
	if !ok {
		return fmt.Errorf("explorer codec: cannot unmarshal %T", v)
	}
	return m.Unmarshal(data)
}

// Name keeps the standard content subtype: the server decodes as it always does.
func (gogoCodec) Name() string { return "proto" }

// gogoConn is a client connection whose unary calls use gogoCodec.
type gogoConn struct{ *grpc.ClientConn }

func (c gogoConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	//lint:ignore SA1019 ForceCodecV2 wants a mem.BufferSlice codec; this one is the v1 shape the SDK uses too.
	return c.ClientConn.Invoke(ctx, method, args, reply, append(opts, grpc.ForceCodec(gogoCodec{}))...)
}

// DialOption makes a connection's calls use the codec the explorer reads
// the chain with, for clients (such as the browser check) that ask the
// chain the same queries.
func DialOption() grpc.DialOption {
	//lint:ignore SA1019 see Invoke above.
	return grpc.WithDefaultCallOptions(grpc.ForceCodec(gogoCodec{}))
}
