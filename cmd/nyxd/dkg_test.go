package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// setDKGBlocksPerPhase rewrites a node's genesis with the DKG's
// blocks_per_phase param; every node's genesis gets the same edit, so they
// stay identical.
func setDKGBlocksPerPhase(t *testing.T, home string, blocks int) {
	t.Helper()
	path := filepath.Join(home, "config", "genesis.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var g map[string]any
	if err := dec.Decode(&g); err != nil {
		t.Fatal(err)
	}
	params := g["app_state"].(map[string]any)["coconut"].(map[string]any)["dkg"].(map[string]any)["params"].(map[string]any)
	params["blocks_per_phase"] = json.Number(strconv.Itoa(blocks))
	out, err := json.MarshalIndent(g, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// consensusAddress reads a node's consensus address from its
// priv_validator_key.json.
func consensusAddress(t *testing.T, home string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	addr, err := hex.DecodeString(k.Address)
	if err != nil || len(addr) != 20 {
		t.Fatalf("priv_validator_key.json address %q", k.Address)
	}
	return addr
}

// keyID returns the current issuing key's id, as node home's CLI reads it.
func keyID(t *testing.T, bin, home string) uint64 {
	t.Helper()
	var vk struct {
		KeySet struct {
			KeyID string `json:"key_id"`
		} `json:"key_set"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, "q", "coconut", "verification-key", "--home", home, "-o", "json")), &vk); err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseUint(vk.KeySet.KeyID, 10, 64)
	return id
}

// TestFourValidatorsFormKeyByDKG runs four nyxd processes whose genesis
// holds a dealt key (id 1) and DKG phases of four blocks: the DKG starts by
// itself with the validator set, every message travels in the validators'
// vote extensions, the round completes and its key (id 2) becomes current,
// each validator adds its derived share to coconut_key.json (keeping the
// dealt one), and a credential requested afterwards is issued under key 2 by
// at least three validators and verifies. One validator runs a build that
// deals badly (tag dkgfault): the participant it cheats accuses it, the
// chain excludes it, and the key forms from the other three dealings.
func TestFourValidatorsFormKeyByDKG(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nyxd and runs four validators")
	}
	bin := buildNyxd(t)
	faulty := buildFaultyNyxd(t)
	dir := filepath.Join(t.TempDir(), "testnet")
	base := freePortBlock(t)
	for freePortFrom(base+10) != nil || freePortFrom(base+20) != nil || freePortFrom(base+30) != nil {
		base = freePortBlock(t)
	}
	run(t, bin, "testnet", "init-files", "--v", "4", "--output-dir", dir,
		"--starting-port", strconv.Itoa(base), "--accounts", "alice", "--timeout-commit", "300ms")
	homes := make([]string, 4)
	for i := range homes {
		homes[i] = filepath.Join(dir, fmt.Sprintf("node%d", i))
		if fi, err := os.Stat(coconuttypes.DKGKeyPath(homes[i])); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("node%d's coconut_dkg_key.json: %v, %v", i, err, fi)
		}
		setDKGBlocksPerPhase(t, homes[i], 4)
	}
	const cheat = 1
	for i, home := range homes {
		if i == cheat {
			startNode(t, faulty, home, coconuttypes.FaultEnv+"=bad-dealing")
		} else {
			startNode(t, bin, home)
		}
	}
	waitHeight(t, base, 2)
	node0 := homes[0]
	if id := keyID(t, bin, node0); id != 1 {
		t.Fatalf("key %d current at start, want the dealt key 1", id)
	}

	start := time.Now()
	deadline := start.Add(60 * time.Second)
	for keyID(t, bin, node0) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the DKG's key is not current after 60 s; round: %s", run(t, bin, "q", "coconut", "dkg-round", "--home", node0, "-o", "json"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("the DKG's key became current %.1f s after height 2", time.Since(start).Seconds())

	var round struct {
		Round struct {
			Participants []struct {
				ConsensusAddress []byte `json:"consensus_address"`
				Excluded         bool   `json:"excluded"`
			} `json:"participants"`
		} `json:"round"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, "q", "coconut", "dkg-round", "--home", node0, "-o", "json")), &round); err != nil {
		t.Fatal(err)
	}
	var vk struct {
		KeySet struct {
			PartialKeys []struct {
				Validator string `json:"validator"`
			} `json:"partial_keys"`
		} `json:"key_set"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, "q", "coconut", "verification-key", "--home", node0, "-o", "json")), &vk); err != nil {
		t.Fatal(err)
	}
	for i, pk := range vk.KeySet.PartialKeys {
		if !strings.HasPrefix(pk.Validator, "nvaloper") {
			t.Fatalf("partial key %d of the DKG's key names validator %q, want its operator address", i, pk.Validator)
		}
	}
	cheater := consensusAddress(t, homes[cheat])
	for _, p := range round.Round.Participants {
		if p.Excluded != bytes.Equal(p.ConsensusAddress, cheater) {
			t.Fatalf("participant %X excluded = %v; only the bad dealer %X should be", p.ConsensusAddress, p.Excluded, cheater)
		}
	}

	if n, _ := issueByCLI(t, bin, node0, 1, "alice"); n < 3 {
		t.Fatalf("credential 1 has %d partial signatures, want at least 3", n)
	}
	var r struct {
		Request struct {
			KeyID string `json:"key_id"`
		} `json:"request"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, "q", "coconut", "request", "1", "--home", node0, "-o", "json")), &r); err != nil {
		t.Fatal(err)
	}
	if r.Request.KeyID != "2" {
		t.Fatalf("credential 1 is under key %q, want the DKG's key 2", r.Request.KeyID)
	}
	holders := 0
	for i, home := range homes {
		keys, err := coconuttypes.LoadIssuerKeys(coconuttypes.IssuerKeyPath(home))
		if err != nil {
			t.Fatalf("node%d's coconut_key.json: %v", i, err)
		}
		if keys.Get(1) == nil {
			t.Fatalf("node%d dropped the dealt key", i)
		}
		if keys.Get(2) != nil {
			holders++
		}
	}
	if holders < 3 {
		t.Fatalf("%d validators hold a share of key 2, want at least 3", holders)
	}
}
