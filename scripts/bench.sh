#!/usr/bin/env bash
# Runs every benchmark, each next to its floor in the same run (make bench).
# Counts are fixed where a benchmark's setup is costly (a chain, prebuilt
# packets) or where only a paired ratio is meaningful.
set -euo pipefail
run() { echo "== go test $*"; go test -run '^$' -benchmem "$@"; }

run -bench . -count 3 ./sphinx                                 # hop/floor: BenchmarkProcessHopVsFloorCPU
run -bench . -benchtime 30x ./coconut ./coconut/internal/curve # verify/floor: BenchmarkVerifyFloorRatio
run -bench . -benchtime 10x ./x/mixnet/keeper                  # epoch transition, Topology
run -bench . -benchtime 30x ./x/coconut/keeper                 # spend/floor, request/floor per credential
run -bench . -benchtime 10x ./x/mixnet/rewarding
run -bench . -benchtime 100x ./x/mixnet/selection
run -bench 'Throughput|LinkCipher' -benchtime 20000x ./sidecar/mixnode # node/floor pps; Noise/plaintext node pps; link cipher/hop CPU
run -bench Handshake -benchtime 1000x ./sidecar/wire           # link handshake/one X25519 multiplication
run -bench . -benchtime 500x ./sidecar/gateway ./sidecar/client # metered/unmetered: BenchmarkForwardMetering
run -bench ShowCheckVsFloor -benchtime 30x ./sidecar/gatewaycred # prove/floor, check/floor per credential
run -bench Latency -benchtime 300x ./testutil/mixnet           # end to end, zero mix delays
run -bench SOCKS5 -benchtime 1x ./testutil/mixnet              # SOCKS5 streams: ttfb and KB/s next to a direct fetch
run -bench Delivery -benchtime 1x ./testutil/mixnet            # 1,000 messages at 0% and 10% loss: ratio, p50/p95 vs floor, wire bytes acks on/off
run -bench . -benchtime 50x ./sidecar/explorer                 # pages of a 1,000-node network: page/empty page, page/JSON of the same rows
run -bench DepositToCredential -benchtime 3x ./cmd/nyxd        # four validator processes: credential/floor (one block interval)
