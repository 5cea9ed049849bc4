// Package coconut implements threshold Coconut credentials (Sonnino et al.,
// NDSS 2019) on BLS12-381, and the DKG primitives with which a set of
// validators generates the issuing key.
//
// The life of a bandwidth credential:
//
//	p, _ := coconut.Setup(coconut.BandwidthAttributes)
//
//	// Client: ask for a credential on hidden serial and binding numbers.
//	v, _ := coconut.NewBandwidthVoucher(rand.Reader, binding, 1<<30, "bandwidth")
//	req, sec, _ := coconut.PrepareBlindSign(rand.Reader, p, v.Private(), v.Public())
//
//	// Each authority (validator) i: verify the request and sign it blind.
//	bs, _ := coconut.BlindSign(p, sk_i, req)
//
//	// Client: unblind t answers, aggregate, verify once.
//	sig_i, _ := coconut.Unblind(p, vk_i, bs_i, sec)
//	cred, _ := coconut.AggregateSignatures(sigs, indices)
//	err := coconut.VerifySignature(p, masterVK, cred, v.Attributes())
//
//	// Client, at a gateway: show it, bound to the gateway's context.
//	theta, _ := coconut.Prove(rand.Reader, p, masterVK, cred, v.Attributes(), coconut.BandwidthShowSpec, ctx)
//
//	// Gateway: verify and learn (spend tag, value, type).
//	pk := masterVK.Prepare() // once
//	spent, err := coconut.VerifyBandwidth(p, pk, theta, ctx)
//
// Every value that travels (keys, requests, signatures, proofs, dealings,
// complaints) has MarshalBinary/UnmarshalBinary with a fixed layout and
// strict decoding; see README.md for the equations, the proofs and the
// encodings.
package coconut
