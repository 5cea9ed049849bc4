package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// atExit holds what TestMain runs after every test and benchmark: the
// stopping of a network that outlives one run of a benchmark function.
var atExit []func()

// depositNet is the four-validator network of BenchmarkDepositToCredential,
// started once: the testing package calls a benchmark function once with
// b.N = 1 and again with the full count.
var depositNet struct {
	bin, home, secrets string
	base               int
	nextID             int
}

func startDepositNet(b *testing.B) {
	if depositNet.bin != "" {
		return
	}
	bin := buildNyxd(b)
	root, err := os.MkdirTemp("", "nyxd-bench")
	if err != nil {
		b.Fatal(err)
	}
	atExit = append(atExit, func() { os.RemoveAll(root) })
	dir := filepath.Join(root, "testnet")
	base := initFourValidators(b, bin, dir)
	for i := range 4 {
		stop := startNodeProcess(b, bin, filepath.Join(dir, fmt.Sprintf("node%d", i)))
		atExit = append([]func(){stop}, atExit...)
	}
	waitHeight(b, base, 3)
	depositNet.bin, depositNet.home, depositNet.base = bin, filepath.Join(dir, "node0"), base
	depositNet.secrets, depositNet.nextID = root, 1
}

// BenchmarkDepositToCredential measures issuance end to end on four
// validator processes: per iteration a client prepares a request, pays the
// deposit by tx from the CLI and polls `nyxd coconut assemble` until the
// credential verifies. It reports the blocks from the deposit's block to the
// height at which the credential first verified, and the seconds from
// broadcast to a verified credential (CLI start-ups and a 100 ms poll
// included), next to the floor of that network in the same run: one block
// interval, the seconds between two consecutive heights (blocks/credential
// is already in that unit).
func BenchmarkDepositToCredential(b *testing.B) {
	startDepositNet(b)
	n := &depositNet
	floor := blockInterval(b, n.base, 5)
	b.ResetTimer()
	var blocks, secs float64
	for range b.N {
		bl, took := issueTimed(b, n.bin, n.home, n.nextID, filepath.Join(n.secrets, fmt.Sprintf("r%d.secrets", n.nextID)))
		n.nextID++
		blocks += float64(bl)
		secs += took.Seconds()
	}
	b.StopTimer()
	per := secs / float64(b.N)
	b.ReportMetric(float64(blocks)/float64(b.N), "blocks/credential")
	b.ReportMetric(per, "s/credential")
	b.ReportMetric(floor.Seconds(), "floor-s/block")
	b.ReportMetric(per/floor.Seconds(), "credential/floor")
}

// blockInterval is the mean time between consecutive heights over k blocks,
// timed from the moment one height is first seen to the moment height+k is
// (polling /status every 20 ms).
func blockInterval(b *testing.B, base, k int) time.Duration {
	b.Helper()
	height := func() int64 {
		var st struct {
			Result struct {
				SyncInfo struct {
					Height string `json:"latest_block_height"`
				} `json:"sync_info"`
			} `json:"result"`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := fetchJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/status", base+1), &st); err != nil {
			b.Fatal(err)
		}
		h, _ := strconv.ParseInt(st.Result.SyncInfo.Height, 10, 64)
		return h
	}
	waitNext := func(after int64) (int64, time.Time) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if h := height(); h > after {
				return h, time.Now()
			}
			if time.Now().After(deadline) {
				b.Fatalf("no block after height %d in 30 s", after)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	h0, t0 := waitNext(height())
	h1, t1 := waitNext(h0 + int64(k) - 1)
	return t1.Sub(t0) / time.Duration(h1-h0)
}

// issueTimed requests credential id by tx from the CLI and polls assemble
// until it verifies; it returns the blocks from the deposit's block to the
// height at which it verified, and the time from broadcast.
func issueTimed(b *testing.B, bin, home string, id int, secrets string) (int, time.Duration) {
	b.Helper()
	args := strings.Fields(run(b, bin, "coconut", "prepare-request", "1000000unym", secrets, "--home", home))
	if len(args) != 4 {
		b.Fatalf("prepare-request printed %q", args)
	}
	tx := append([]string{"tx", "coconut", "request-credential"}, args...)
	tx = append(tx, "--from", "alice", "--home", home, "--yes", "--gas", "500000", "--fees", "12500unyx", "-o", "json")
	start := time.Now()
	out := run(b, bin, tx...)
	var sent struct {
		TxHash string `json:"txhash"`
		Code   int    `json:"code"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &sent); err != nil || sent.Code != 0 {
		b.Fatalf("request-credential: %v\n%s", err, out)
	}
	deadline := start.Add(40 * time.Second)
	for {
		out, err := exec.Command(bin, "coconut", "assemble", strconv.Itoa(id), secrets, "--home", home).CombinedOutput()
		if err == nil && strings.Contains(string(out), "verifies") {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("credential %d not issued in 40 s: %v\n%s", id, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	var txr, st struct {
		Height   string `json:"height"`
		SyncInfo struct {
			Height string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	// The status first: the credential verified at this height or below.
	if err := json.Unmarshal([]byte(run(b, bin, "status", "--home", home)), &st); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal([]byte(run(b, bin, "q", "tx", sent.TxHash, "--home", home, "-o", "json")), &txr); err != nil {
		b.Fatal(err)
	}
	txH, _ := strconv.Atoi(txr.Height)
	nowH, _ := strconv.Atoi(st.SyncInfo.Height)
	if txH == 0 || nowH < txH {
		b.Fatalf("credential %d: deposit height %q, verified by height %q", id, txr.Height, st.SyncInfo.Height)
	}
	return nowH - txH, took
}
