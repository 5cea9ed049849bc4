package coconut

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// DSTBeacon separates the beacon's hash to G1 from every hash a credential
// uses (DSTGenerators, DSTCommitment): no credential is ever signed on a
// point hashed under it.
const DSTBeacon = "NYX-COCONUT-V1-BEACON_BLS12381G1_XMD:SHA-256_SSWU_RO_"

// BeaconSignatureSize is the encoded size of a beacon signature, partial or
// aggregated: one compressed G1 point.
const BeaconSignatureSize = G1Size

// BeaconSignature is a threshold BLS signature on an epoch number under the
// x part of an issuing key: σ = x·H(epoch), H = HashToG1(uint64be(epoch))
// under DSTBeacon. An authority's share x_i gives its partial; any t partials
// interpolate to the same σ under the master x, which no coalition of fewer
// than t can compute and none can choose: the beacon of an epoch is
// unpredictable until t authorities sign it, and unique once they have.
type BeaconSignature struct {
	s curve.G1
}

func beaconPoint(epoch uint64) curve.G1 {
	return curve.HashToG1(binary.BigEndian.AppendUint64(nil, epoch), []byte(DSTBeacon))
}

// SignBeacon returns sk's (partial) beacon signature on epoch.
func SignBeacon(sk *SecretKey, epoch uint64) *BeaconSignature {
	return &BeaconSignature{s: beaconPoint(epoch).Mul(sk.x)}
}

// VerifyBeacon checks σ against the key's α = x·g2 (a partial key for a
// partial signature, the master key for an aggregated one):
// e(σ, g2) = e(H(epoch), α), one two-pairing product check.
func VerifyBeacon(vk *VerificationKey, epoch uint64, sig *BeaconSignature) error {
	if sig == nil || vk == nil {
		return fmt.Errorf("%w: missing beacon signature or key", ErrSignature)
	}
	h := beaconPoint(epoch)
	if !curve.PairingCheck([]curve.G1{sig.s, h.Neg()}, []curve.G2{curve.G2Generator(), vk.alpha}) {
		return fmt.Errorf("%w: beacon signature on epoch %d", ErrSignature, epoch)
	}
	return nil
}

// AggregateBeacon interpolates the beacon from partial signatures of the
// authorities with the given indices (1-based, distinct). It does not verify:
// the caller checks the result with VerifyBeacon against the master key.
func AggregateBeacon(sigs []*BeaconSignature, indices []uint64) (*BeaconSignature, error) {
	if len(sigs) == 0 || len(sigs) != len(indices) {
		return nil, fmt.Errorf("%w: %d signatures, %d indices", ErrIndices, len(sigs), len(indices))
	}
	l, err := lagrangeAtZero(indices)
	if err != nil {
		return nil, err
	}
	ps := make([]curve.G1, len(sigs))
	for i, sg := range sigs {
		if sg == nil {
			return nil, fmt.Errorf("%w: missing partial beacon signature", ErrSignature)
		}
		ps[i] = sg.s
	}
	return &BeaconSignature{s: curve.MultiExpG1(ps, l)}, nil
}

// Randomness is the beacon's output: SHA-256(DSTBeacon || σ). σ is unique for
// (key, epoch), so the output is too; hashing makes it uniform bytes.
func (sig *BeaconSignature) Randomness() [32]byte {
	h := sha256.New()
	h.Write([]byte(DSTBeacon))
	h.Write(appendG1(nil, sig.s))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Equal reports whether two beacon signatures are the same point.
func (sig *BeaconSignature) Equal(o *BeaconSignature) bool { return sig.s.Equal(o.s) }

// MarshalBinary encodes σ as one compressed G1 point (BeaconSignatureSize bytes).
func (sig *BeaconSignature) MarshalBinary() ([]byte, error) { return appendG1(nil, sig.s), nil }

// UnmarshalBinary decodes σ strictly: exact length, a point in the subgroup,
// never the identity.
func (sig *BeaconSignature) UnmarshalBinary(data []byte) error {
	r := reader{b: data}
	s := r.g1()
	if err := r.done(); err != nil {
		return err
	}
	sig.s = s
	return nil
}
