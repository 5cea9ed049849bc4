package types

import (
	"errors"
	"fmt"

	"github.com/nyx-privacy/nyx/coconut"
)

// ErrNotIssued means the partial signatures on chain do not (yet) make a
// credential: fewer than the threshold of them verify.
var ErrNotIssued = errors.New("coconut: not enough valid partial signatures for a credential")

// AssembleCredential is the client's side of issuance: from the partial
// signatures the Request query returns, the key set they were made under (the
// VerificationKey query) and the secrets kept from PrepareBlindSign, it
// unblinds each partial with its signer's key, aggregates threshold of them
// and verifies the credential against the master key. If the aggregate fails
// (a signer misbehaved; the chain checks partials in consensus, so this
// should not happen) it verifies each partial alone and aggregates the valid
// ones. It returns the credential and its attributes.
func AssembleCredential(ks *KeySet, partials []PartialSignature, sec *coconut.BlindSignSecrets) (*coconut.Signature, []coconut.Scalar, error) {
	p := CredentialParams()
	master, err := DecodeVerificationKey(ks.MasterKey, false)
	if err != nil {
		return nil, nil, err
	}
	attrs := sec.Attributes()
	sigs := make([]*coconut.Signature, 0, len(partials))
	keys := make([]*coconut.VerificationKey, 0, len(partials))
	idx := make([]uint64, 0, len(partials))
	seen := map[uint32]bool{}
	for _, ps := range partials {
		pk, ok := ks.PartialKeyOf(ps.SignerIndex)
		if !ok || seen[ps.SignerIndex] {
			continue
		}
		vk, err := DecodeVerificationKey(pk.VerificationKey, true)
		if err != nil {
			continue
		}
		var bs coconut.BlindedSignature
		if bs.UnmarshalBinary(ps.BlindedSignature) != nil {
			continue
		}
		sig, err := coconut.Unblind(p, vk, &bs, sec)
		if err != nil {
			continue
		}
		seen[ps.SignerIndex] = true
		sigs, keys, idx = append(sigs, sig), append(keys, vk), append(idx, uint64(ps.SignerIndex))
	}
	t := int(ks.Threshold)
	if len(sigs) < t || t == 0 {
		return nil, nil, fmt.Errorf("%w: %d usable of threshold %d", ErrNotIssued, len(sigs), t)
	}
	if cred, err := aggregateAndVerify(p, master, sigs[:t], idx[:t], attrs); err == nil {
		return cred, attrs, nil
	}
	var goodSigs []*coconut.Signature
	var goodIdx []uint64
	for i, sig := range sigs {
		if coconut.VerifySignature(p, keys[i], sig, attrs) == nil {
			goodSigs, goodIdx = append(goodSigs, sig), append(goodIdx, idx[i])
		}
	}
	if len(goodSigs) < t {
		return nil, nil, fmt.Errorf("%w: %d valid of threshold %d", ErrNotIssued, len(goodSigs), t)
	}
	cred, err := aggregateAndVerify(p, master, goodSigs[:t], goodIdx[:t], attrs)
	if err != nil {
		return nil, nil, err
	}
	return cred, attrs, nil
}

func aggregateAndVerify(p *coconut.Params, master *coconut.VerificationKey, sigs []*coconut.Signature, idx []uint64, attrs []coconut.Scalar) (*coconut.Signature, error) {
	cred, err := coconut.AggregateSignatures(sigs, idx)
	if err != nil {
		return nil, err
	}
	if err := coconut.VerifySignature(p, master, cred, attrs); err != nil {
		return nil, err
	}
	return cred, nil
}
