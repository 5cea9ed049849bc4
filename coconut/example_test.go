package coconut_test

import (
	"crypto/rand"
	"fmt"

	"github.com/nyx-privacy/nyx/coconut"
)

// Example issues a bandwidth credential with 2 of 3 authorities and spends
// it at a gateway twice: the second spend shows the same tag.
func Example() {
	p, _ := coconut.Setup(coconut.BandwidthAttributes)
	sks, _ := coconut.TTPKeyGen(rand.Reader, p, 2, 3)
	vks := []*coconut.VerificationKey{sks[0].VerificationKey(), sks[1].VerificationKey(), sks[2].VerificationKey()}
	master, _ := coconut.AggregateVerificationKeys(vks[1:], []uint64{2, 3})

	v, _ := coconut.NewBandwidthVoucher(rand.Reader, coconut.HashToScalar([]byte("client identity key")), 1<<30, "bandwidth")
	req, sec, _ := coconut.PrepareBlindSign(rand.Reader, p, v.Private(), v.Public())
	wire, _ := req.MarshalBinary() // the request travels to the validators
	var got coconut.BlindSignRequest
	if err := got.UnmarshalBinary(wire); err != nil {
		fmt.Println(err)
		return
	}
	var partial []*coconut.Signature
	for _, i := range []int{0, 2} {
		bs, err := coconut.BlindSign(p, sks[i], &got)
		if err != nil {
			fmt.Println(err)
			return
		}
		sig, _ := coconut.Unblind(p, vks[i], bs, sec)
		partial = append(partial, sig)
	}
	cred, _ := coconut.AggregateSignatures(partial, []uint64{1, 3})
	fmt.Println("credential valid:", coconut.VerifySignature(p, master, cred, v.Attributes()) == nil)

	pk := master.Prepare()
	_ = pk.PrepareBandwidth(1<<30, "bandwidth")
	spent := map[coconut.SpendTag]bool{}
	for i := 0; i < 2; i++ {
		ctx := []byte("gateway-A/nonce-" + fmt.Sprint(i))
		theta, _ := coconut.Prove(rand.Reader, p, master, cred, v.Attributes(), coconut.BandwidthShowSpec, ctx)
		s, err := coconut.VerifyBandwidth(p, pk, theta, ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("value:", s.Value, "double spend:", spent[s.Tag])
		spent[s.Tag] = true
	}
	// Output:
	// credential valid: true
	// value: 1073741824 double spend: false
	// value: 1073741824 double spend: true
}
