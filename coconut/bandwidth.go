package coconut

import (
	"fmt"
	"io"
)

// The bandwidth credential (Nym's shape): four attributes, the first two
// private, the last two public.
const (
	BandwidthSerial     = 0 // private: random; its spend tag detects double spending
	BandwidthBinding    = 1 // private: binds the credential to its holder's key
	BandwidthValue      = 2 // public: the amount of bandwidth, as an integer
	BandwidthType       = 3 // public: HashToScalar of the credential type name
	BandwidthAttributes = 4
)

// BandwidthVoucher holds the attributes a client asks to have signed.
type BandwidthVoucher struct {
	Serial, Binding Scalar
	Value           uint64
	Type            string
}

// NewBandwidthVoucher draws a fresh serial number for a voucher of the given
// value and type bound to binding (e.g. HashToScalar of the client's identity key).
func NewBandwidthVoucher(rng io.Reader, binding Scalar, value uint64, typ string) (*BandwidthVoucher, error) {
	serial, err := RandomScalar(rng)
	if err != nil {
		return nil, err
	}
	return &BandwidthVoucher{Serial: serial, Binding: binding, Value: value, Type: typ}, nil
}

// Private returns the private attributes (serial, binding) in signing order.
func (v *BandwidthVoucher) Private() []Scalar { return []Scalar{v.Serial, v.Binding} }

// Public returns the public attributes (value, type) in signing order.
func (v *BandwidthVoucher) Public() []Scalar {
	return []Scalar{NewScalar(v.Value), HashToScalar([]byte(v.Type))}
}

// Attributes returns all four attributes in signing order.
func (v *BandwidthVoucher) Attributes() []Scalar { return append(v.Private(), v.Public()...) }

// BandwidthShowSpec reveals value and type and the spend tag of the serial
// number, and hides the serial and binding numbers.
var BandwidthShowSpec = ShowSpec{Reveal: []int{BandwidthValue, BandwidthType}, Tag: true, TagIndex: BandwidthSerial}

// SpentBandwidth is what a verifier learns from a valid bandwidth credential.
type SpentBandwidth struct {
	Tag   SpendTag
	Value uint64
	Type  Scalar // compare with HashToScalar([]byte(name))
}

// VerifyBandwidth verifies θ as a bandwidth credential under pk and context:
// the proof must have exactly the shape of BandwidthShowSpec. The caller
// still refuses the credential if the tag was spent before.
func VerifyBandwidth(p *Params, pk *PreparedVerificationKey, th *Theta, context []byte) (*SpentBandwidth, error) {
	if p.q != BandwidthAttributes || th.q != BandwidthAttributes ||
		th.reveal != 1<<BandwidthValue|1<<BandwidthType || th.tag != BandwidthSerial {
		return nil, fmt.Errorf("%w: not a bandwidth credential proof", ErrDisclosure)
	}
	if err := pk.Verify(p, th, context); err != nil {
		return nil, err
	}
	d := th.Disclosed()
	value, ok := d[BandwidthValue].Uint64()
	if !ok {
		return nil, fmt.Errorf("%w: bandwidth value above 2^64", ErrCredential)
	}
	tag, _, _ := th.SpendTag()
	return &SpentBandwidth{Tag: tag, Value: value, Type: d[BandwidthType]}, nil
}
