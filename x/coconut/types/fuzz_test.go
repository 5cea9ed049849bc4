package types_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// Every decoder of outside bytes has a fuzz target: decoding never panics, what
// decodes re-encodes to the same bytes, and what is verified next is verified on
// whatever decoded.

// world holds valid encodings of everything the module decodes, built once.
type world struct {
	request, theta, key, keyG2 []byte
	blinded                    []byte
	keySet                     types.KeySet
}

var worldOnce = sync.OnceValues(func() (*world, error) {
	p := types.CredentialParams()
	sks, err := coconut.TTPKeyGen(rand.Reader, p, 1, 1)
	if err != nil {
		return nil, err
	}
	vk := sks[0].VerificationKey()
	v, err := coconut.NewBandwidthVoucher(rand.Reader, coconut.HashToScalar([]byte("holder")), 5_000, types.CredentialTypeName(1))
	if err != nil {
		return nil, err
	}
	req, sec, err := coconut.PrepareBlindSign(rand.Reader, p, v.Private(), v.Public())
	if err != nil {
		return nil, err
	}
	bs, err := coconut.BlindSign(p, sks[0], req)
	if err != nil {
		return nil, err
	}
	sig, err := coconut.Unblind(p, vk, bs, sec)
	if err != nil {
		return nil, err
	}
	cred, err := coconut.AggregateSignatures([]*coconut.Signature{sig}, []uint64{1})
	if err != nil {
		return nil, err
	}
	th, err := coconut.Prove(rand.Reader, p, vk, cred, v.Attributes(), coconut.BandwidthShowSpec, []byte("fuzz"))
	if err != nil {
		return nil, err
	}
	w := &world{}
	if w.request, err = req.MarshalBinary(); err != nil {
		return nil, err
	}
	if w.blinded, err = bs.MarshalBinary(); err != nil {
		return nil, err
	}
	if w.theta, err = th.MarshalBinary(); err != nil {
		return nil, err
	}
	if w.key, err = vk.MarshalBinary(); err != nil {
		return nil, err
	}
	w.keyG2 = append([]byte{w.key[0], 0}, w.key[2:types.KeySizeG2]...)
	w.keySet = types.KeySet{KeyId: 1, Threshold: 1, MasterKey: w.keyG2, PartialKeys: []types.PartialKey{{SignerIndex: 1, VerificationKey: w.key}}}
	return w, nil
})

func getWorld(tb testing.TB) *world {
	w, err := worldOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// seeds adds valid, truncated, extended and corrupted versions of each input.
func seeds(f *testing.F, valid ...[]byte) {
	for _, v := range valid {
		f.Add(v)
		f.Add(v[:len(v)-1])
		f.Add(append(bytes.Clone(v), 0))
		c := bytes.Clone(v)
		c[len(c)/2] ^= 0xff
		f.Add(c)
	}
	f.Add([]byte{})
}

func FuzzDecodeRequest(f *testing.F) {
	seeds(f, getWorld(f).request)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, value, typ, err := types.DecodeRequest(data)
		if err != nil {
			return
		}
		out, err := req.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("decoded request re-encodes differently: %v", err)
		}
		_ = req.Verify(types.CredentialParams())
		if v := coconut.NewScalar(value).Bytes(); !bytes.Equal(data[len(data)-64:len(data)-32], v[:]) || !bytes.Equal(data[len(data)-32:], typ[:]) {
			t.Fatal("public attributes are not the request's")
		}
	})
}

func FuzzDecodeTheta(f *testing.F) {
	seeds(f, getWorld(f).theta)
	pk := func() *coconut.PreparedVerificationKey {
		vk, err := types.DecodeVerificationKey(getWorld(f).key, true)
		if err != nil {
			f.Fatal(err)
		}
		return vk.Prepare()
	}()
	f.Fuzz(func(t *testing.T, data []byte) {
		th, err := types.DecodeTheta(data)
		if err != nil {
			return
		}
		out, err := th.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("decoded theta re-encodes differently: %v", err)
		}
		_, _ = coconut.VerifyBandwidth(types.CredentialParams(), pk, th, []byte("fuzz"))
	})
}

func FuzzDecodeVerificationKey(f *testing.F) {
	w := getWorld(f)
	seeds(f, w.key, w.keyG2)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, withG1 := range []bool{false, true} {
			vk, err := types.DecodeVerificationKey(data, withG1)
			if err != nil {
				continue
			}
			if withG1 && !vk.HasG1() {
				t.Fatal("a key without its G1 half decoded as a partial key")
			}
			out, err := vk.MarshalBinary()
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("decoded key re-encodes differently: %v", err)
			}
		}
	})
}

// FuzzSpendMsg decodes MsgSpendCredentials from protobuf bytes (as a tx carries
// it) and runs its stateless checks and the decoding of each entry.
func FuzzSpendMsg(f *testing.F) {
	w := getWorld(f)
	msg := &types.MsgSpendCredentials{Operator: "n1operator", Entries: []types.SpendEntry{
		{Theta: w.theta, GatewayIdentity: make([]byte, 32), Nonce: []byte("nonce")},
	}}
	bz, err := msg.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	seeds(f, bz)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m types.MsgSpendCredentials
		if err := m.Unmarshal(data); err != nil {
			return
		}
		if err := m.ValidateBasic(); err != nil {
			return
		}
		if len(m.Entries) > types.MaxSpendEntries {
			t.Fatalf("%d entries passed ValidateBasic", len(m.Entries))
		}
		for _, e := range m.Entries {
			_, _ = types.DecodeTheta(e.Theta)
		}
	})
}

// FuzzGenesis decodes a genesis state from protobuf bytes (a genesis file is the
// same message in JSON) and validates it.
func FuzzGenesis(f *testing.F) {
	w := getWorld(f)
	gs := types.DefaultGenesisState()
	gs.KeySets = []types.KeySet{w.keySet}
	gs.NextRequestId = 2
	gs.Requests = []types.CredentialRequest{{
		Id: 1, Sender: "n1sender", BlindSignRequest: w.request, Value: 5_000, CredentialType: types.CredentialTypeName(1),
		Deposit: sdk.NewInt64Coin(types.Denom, 5_000), KeyId: 1, Height: 1, Status: types.REQUEST_STATUS_PENDING,
	}}
	gs.CredentialTypes = append(gs.CredentialTypes, types.CredentialType{Name: types.CredentialTypeName(1), BytesPerUnym: 1})
	var beaconExt types.IssuanceVoteExtension
	if err := beaconExt.Unmarshal(beaconExtensionSeed(f, 0)); err != nil {
		f.Fatal(err)
	}
	sig := beaconExt.Beacon.Signature
	r, err := types.BeaconOutput(sig)
	if err != nil {
		f.Fatal(err)
	}
	gs.Beacons = []types.Beacon{{Epoch: 5, KeyId: 1, Signature: sig, Randomness: r, Height: 3}}
	gs.BeaconShares = []types.BeaconShare{{Epoch: 6, SignerIndex: 1, KeyId: 1, Signature: sig}}
	if err := gs.Validate(); err != nil {
		f.Fatal(err)
	}
	bz, err := gs.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	seeds(f, bz)
	f.Fuzz(func(t *testing.T, data []byte) {
		var g types.GenesisState
		if err := g.Unmarshal(data); err != nil {
			return
		}
		_ = g.Validate()
	})
}

func voteExtensionSeed(tb testing.TB, n int) []byte {
	ext := &types.IssuanceVoteExtension{Version: types.VoteExtensionVersion, KeyId: 1, SignerIndex: 1}
	for i := 1; i <= n; i++ {
		ext.Partials = append(ext.Partials, types.ExtensionPartial{RequestId: uint64(i), BlindedSignature: getWorld(tb).blinded})
	}
	bz, err := types.EncodeVoteExtension(ext)
	if err != nil {
		tb.Fatal(err)
	}
	return bz
}

// beaconExtensionSeed is an extension carrying a beacon partial and n
// partial blind signatures.
func beaconExtensionSeed(tb testing.TB, n int) []byte {
	sk, err := coconut.KeyGen(rand.Reader, types.CredentialParams())
	if err != nil {
		tb.Fatal(err)
	}
	sig, _ := coconut.SignBeacon(sk, 5).MarshalBinary()
	var ext types.IssuanceVoteExtension
	if err := ext.Unmarshal(voteExtensionSeed(tb, max(n, 1))); err != nil {
		tb.Fatal(err)
	}
	ext.Partials = ext.Partials[:n]
	ext.Beacon = &types.BeaconPartial{Epoch: 5, Signature: sig}
	bz, err := types.EncodeVoteExtension(&ext)
	if err != nil {
		tb.Fatal(err)
	}
	return bz
}

func FuzzDecodeVoteExtension(f *testing.F) {
	pk, err := coconut.NewParticipantKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pkb, _ := pk.Public().MarshalBinary()
	registration := types.EncodeDKGMessage(types.DKGRegistration, 2, pkb)
	var withDKG types.IssuanceVoteExtension
	if err := withDKG.Unmarshal(voteExtensionSeed(f, 2)); err != nil {
		f.Fatal(err)
	}
	withDKG.DkgMessage = registration
	both, _ := types.EncodeVoteExtension(&withDKG)
	alone, _ := types.EncodeVoteExtension(&types.IssuanceVoteExtension{Version: types.VoteExtensionVersion, DkgMessage: registration})
	seeds(f, voteExtensionSeed(f, 1), voteExtensionSeed(f, 3), both, alone, beaconExtensionSeed(f, 0), beaconExtensionSeed(f, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		ext, sigs, err := types.DecodeVoteExtension(data, 50)
		if err != nil || ext == nil {
			return
		}
		if len(ext.DkgMessage) > 0 {
			if _, err := types.DecodeDKGMessage(ext.DkgMessage); err != nil {
				t.Fatalf("accepted an undecodable DKG message: %v", err)
			}
		}
		if len(ext.Partials) == 0 && ext.Beacon == nil && len(ext.DkgMessage) == 0 {
			t.Fatal("an extension with nothing in it decoded")
		}
		if len(ext.Partials) == 0 && ext.Beacon == nil && (ext.KeyId != 0 || ext.SignerIndex != 0) {
			t.Fatal("accepted a key id without partial signatures or a beacon partial")
		}
		if (len(ext.Partials) > 0 || ext.Beacon != nil) && (ext.KeyId == 0 || ext.SignerIndex == 0) {
			t.Fatal("accepted partial signatures or a beacon partial without a key id and signer")
		}
		if len(data) > types.MaxVoteExtensionSize || len(ext.Partials) > 50 || len(sigs) != len(ext.Partials) {
			t.Fatalf("decoded beyond the bounds: %d bytes, %d partials", len(data), len(ext.Partials))
		}
		out, err := types.EncodeVoteExtension(ext)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("decoded extension re-encodes differently: %v", err)
		}
		for i := 1; i < len(ext.Partials); i++ {
			if ext.Partials[i].RequestId <= ext.Partials[i-1].RequestId {
				t.Fatal("request ids not increasing")
			}
		}
		if ext.Beacon != nil {
			if _, err := ext.Beacon.Decode(); err != nil {
				t.Fatalf("a malformed beacon partial decoded: %v", err)
			}
		}
	})
}

func FuzzDecodeInjectedCommit(f *testing.F) {
	c := abci.ExtendedCommitInfo{Round: 1, Votes: []abci.ExtendedVoteInfo{{
		Validator:     abci.Validator{Address: bytes.Repeat([]byte{7}, 20), Power: 10},
		VoteExtension: voteExtensionSeed(f, 2), ExtensionSignature: bytes.Repeat([]byte{1}, 64), BlockIdFlag: 2,
	}}}
	bz, err := types.EncodeInjectedCommit(&c)
	if err != nil {
		f.Fatal(err)
	}
	seeds(f, bz, []byte(types.InjectedCommitPrefix+"x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := types.DecodeInjectedCommit(data)
		if err != nil {
			return
		}
		if !types.IsInjectedCommit(data) || len(data) > types.MaxInjectedCommitSize || len(c.Votes) > types.MaxInjectedVotes {
			t.Fatal("decoded an injected commit beyond its bounds")
		}
	})
}

func FuzzParseIssuerKeys(f *testing.F) {
	sks, err := coconut.TTPKeyGen(rand.Reader, types.CredentialParams(), 1, 1)
	if err != nil {
		f.Fatal(err)
	}
	addr := bytes.Repeat([]byte{9}, 20)
	k1, err := types.NewIssuerKey(1, 1, addr, sks[0])
	if err != nil {
		f.Fatal(err)
	}
	k2, err := types.NewIssuerKey(2, 3, addr, sks[0])
	if err != nil {
		f.Fatal(err)
	}
	one, _ := json.Marshal(&types.IssuerKeys{Keys: []*types.IssuerKey{k1}})
	two, _ := json.Marshal((&types.IssuerKeys{Keys: []*types.IssuerKey{k1}}).With(k2))
	single, _ := json.Marshal(k1)
	seeds(f, one, two, single, []byte(`{"keys":[null]}`), []byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := types.ParseIssuerKeys(data)
		if err != nil {
			return
		}
		if len(ks.Keys) == 0 || len(ks.Keys) > types.MaxIssuerKeys {
			t.Fatalf("accepted %d keys", len(ks.Keys))
		}
		for i, k := range ks.Keys {
			if k.Secret() == nil || k.KeyID == 0 || k.SignerIndex == 0 || len(k.ConsensusAddress) != 20 {
				t.Fatal("accepted an incomplete key file")
			}
			if i > 0 && k.KeyID <= ks.Keys[i-1].KeyID {
				t.Fatal("accepted key ids out of order")
			}
		}
	})
}

func FuzzParseDKGKey(f *testing.F) {
	k, err := types.GenerateDKGKey(rand.Reader, bytes.Repeat([]byte{9}, 20))
	if err != nil {
		f.Fatal(err)
	}
	bz, err := json.Marshal(k)
	if err != nil {
		f.Fatal(err)
	}
	seeds(f, bz, []byte(`{"consensus_address":""}`), append(bz, bz...))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := types.ParseDKGKey(data)
		if err != nil {
			return
		}
		if k.Key() == nil || len(k.ConsensusAddress) != 20 {
			t.Fatal("accepted an incomplete DKG key file")
		}
	})
}
