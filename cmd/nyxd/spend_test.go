package main

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spendTwiceByCLI plays a gateway operator redeeming credential id from the
// CLI: `nyxd coconut show` bound to the operator, `tx coconut
// spend-credentials` pays the operator the deposit and `q coconut spend-tag`
// then says spent; a second, freshly randomised show of the same credential
// (same spend tag, another nonce) is refused and moves no unym.
func spendTwiceByCLI(t *testing.T, bin, home string, id int, secrets, operator string) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("spend and refused double spend: %.1f s", time.Since(start).Seconds()) }()
	op := strings.TrimSpace(run(t, bin, "keys", "show", operator, "-a", "--home", home))
	coconutAcct := moduleAddress(t, bin, home, "coconut")
	gateway := strings.Repeat("ab", 32)
	show := func(nonce string) (entry, tag string) {
		f := strings.Fields(run(t, bin, "coconut", "show", strconv.Itoa(id), secrets,
			"--operator", op, "--gateway", gateway, "--nonce", nonce, "--home", home))
		if len(f) != 2 {
			t.Fatalf("coconut show printed %q", f)
		}
		return f[0], f[1]
	}
	opBefore, poolBefore := unym(t, bin, home, op), unym(t, bin, home, coconutAcct)

	entry, tag := show("01")
	if code, log := spendTx(t, bin, home, operator, entry); code != 0 {
		t.Fatalf("first spend failed: code %d: %s", code, log)
	}
	opAfter, poolAfter := unym(t, bin, home, op), unym(t, bin, home, coconutAcct)
	// Fees are paid in unyx: the operator's unym grows by the deposit exactly.
	if opAfter != opBefore+1_000_000 || poolAfter != poolBefore-1_000_000 {
		t.Fatalf("first spend: operator %d -> %d, module %d -> %d unym; want the 1000000unym deposit moved",
			opBefore, opAfter, poolBefore, poolAfter)
	}
	var st struct {
		Spent  bool `json:"spent"`
		Record struct {
			GatewayOperator string `json:"gateway_operator"`
			Height          string `json:"height"`
		} `json:"record"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, "q", "coconut", "spend-tag", tag, "--home", home, "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if !st.Spent || st.Record.GatewayOperator != op {
		t.Fatalf("spend tag after the spend: %+v, want spent by %s", st, op)
	}

	entry2, tag2 := show("02")
	if tag2 != tag || entry2 == entry {
		t.Fatalf("second show: tag %s (first %s), same entry %v; want the same tag in a new show", tag2, tag, entry2 == entry)
	}
	code, log := spendTx(t, bin, home, operator, entry2)
	if code == 0 {
		t.Fatal("a second spend of the same credential was accepted")
	}
	if !strings.Contains(log, "already spent") {
		t.Fatalf("second spend refused for another reason than its spent tag: code %d: %s", code, log)
	}
	if o, p := unym(t, bin, home, op), unym(t, bin, home, coconutAcct); o != opAfter || p != poolAfter {
		t.Fatalf("refused spend moved unym: operator %d -> %d, module %d -> %d", opAfter, o, poolAfter, p)
	}
	var st2 struct {
		Record struct {
			Height string `json:"height"`
		} `json:"record"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, "q", "coconut", "spend-tag", tag, "--home", home, "-o", "json")), &st2); err != nil {
		t.Fatal(err)
	}
	if st2.Record.Height != st.Record.Height {
		t.Fatalf("the refused spend rewrote the spend record: height %s, was %s", st2.Record.Height, st.Record.Height)
	}
}

// spendTx broadcasts a spend signed by from and returns its result code
// and log: the mempool's if it refused the tx, else the block's.
func spendTx(t *testing.T, bin, home, from, entry string) (int, string) {
	t.Helper()
	out, _ := exec.Command(bin, "tx", "coconut", "spend-credentials", entry, "--from", from, "--home", home,
		"--yes", "--gas", "500000", "--fees", "12500unyx", "-o", "json").CombinedOutput()
	var sent struct {
		TxHash string `json:"txhash"`
		Code   int    `json:"code"`
		RawLog string `json:"raw_log"`
	}
	if err := json.Unmarshal([]byte(lastLine(string(out))), &sent); err != nil {
		t.Fatalf("spend-credentials: %v\n%s", err, out)
	}
	if sent.Code != 0 {
		return sent.Code, sent.RawLog
	}
	// Polled: see cliTransactions.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command(bin, "q", "tx", sent.TxHash, "--home", home, "-o", "json").Output()
		if err == nil {
			var res struct {
				Code   int    `json:"code"`
				RawLog string `json:"raw_log"`
			}
			if err := json.Unmarshal([]byte(lastLine(string(out))), &res); err != nil {
				t.Fatalf("q tx %s: %v\n%s", sent.TxHash, err, out)
			}
			return res.Code, res.RawLog
		}
		if time.Now().After(deadline) {
			t.Fatalf("spend tx %s not in a block after 30 s", sent.TxHash)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// unym is an address's unym balance.
func unym(t *testing.T, bin, home, addr string) int64 {
	t.Helper()
	var b struct {
		Balance struct {
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, "q", "bank", "balance", addr, "unym", "--home", home, "-o", "json")), &b); err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(b.Balance.Amount, 10, 64)
	if err != nil {
		t.Fatalf("balance of %s: %q", addr, b.Balance.Amount)
	}
	return n
}

// moduleAddress is a module account's address.
func moduleAddress(t *testing.T, bin, home, name string) string {
	t.Helper()
	out := run(t, bin, "q", "auth", "module-account", name, "--home", home, "-o", "json")
	var a struct {
		Account struct {
			Value struct {
				Address string `json:"address"`
			} `json:"value"`
		} `json:"account"`
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.Account.Value.Address == "" {
		t.Fatalf("module account %s: %v\n%s", name, err, out)
	}
	return a.Account.Value.Address
}
