#!/usr/bin/env bash
# Starts a local Nyx network on 127.0.0.1: a one-validator chain with funded,
# named test accounts. Everything lives under one directory (default
# ./.localnet). Ctrl-C stops it cleanly.
#
#   scripts/localnet.sh [--fresh] [--dir DIR] [--base-port PORT]
#
#   --fresh        wipe DIR and start a new chain (default: resume the chain
#                  in DIR if there is one, else create it)
#   --dir DIR      where the chain's files live (default ./.localnet)
#   --base-port P  first port: P2P P, RPC P+1, gRPC P+2, REST P+3 (default 26650)
#
# NYXD may name the nyxd binary (default: build/nyxd).
set -euo pipefail

dir=./.localnet
fresh=0
base=26650
while [ $# -gt 0 ]; do
	case "$1" in
	--fresh) fresh=1 ;;
	--dir) dir="$2"; shift ;;
	--base-port) base="$2"; shift ;;
	-h | --help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "localnet: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

nyxd=${NYXD:-build/nyxd}
if [ ! -x "$nyxd" ]; then
	echo "localnet: $nyxd not found; run 'make build' first (make localnet does)" >&2
	exit 1
fi
chain_id=nyx-localnet
home="$dir/node0"
accounts=alice,bob,carol,dave

if [ "$fresh" = 1 ] && [ -d "$dir" ]; then
	echo "localnet: removing $dir"
	rm -rf "$dir"
fi
if [ -f "$home/config/genesis.json" ]; then
	echo "localnet: resuming the chain in $dir (use --fresh to start a new one)"
else
	"$nyxd" testnet init-files --v 1 --output-dir "$dir" --chain-id "$chain_id" \
		--accounts "$accounts" --starting-port "$base" --timeout-commit 500ms \
		--mixnet-epoch 30s --reward-pool 100000000000unym >"$dir.init.log" 2>&1 ||
		{ cat "$dir.init.log" >&2; exit 1; }
	mv "$dir.init.log" "$dir/init.log"
fi

rpc=$((base + 1)) grpc=$((base + 2)) rest=$((base + 3))
cat <<MSG

  Nyx localnet (chain id $chain_id), files in $dir
    CometBFT RPC  http://127.0.0.1:$rpc
    gRPC          127.0.0.1:$grpc
    REST          http://127.0.0.1:$rest
  Test keyring accounts (each holds 1,000,000 NYX and 1,000,000 NYM): ${accounts//,/, }, validator

  Try, from another terminal:
    $nyxd --home $home keys list
    $nyxd --home $home query bank balances \$($nyxd --home $home keys show alice -a)
    $nyxd --home $home tx bank send alice \$($nyxd --home $home keys show bob -a) 1000unym -y
    $nyxd --home $home tx wasm store contract.wasm --from alice --gas auto --gas-adjustment 1.5 -y
    curl http://127.0.0.1:$rest/cosmos/base/tendermint/v1beta1/blocks/latest

  Ctrl-C stops the chain; run 'make localnet' again to resume it.

MSG

# exec: Ctrl-C reaches nyxd itself, which shuts CometBFT and the app down cleanly.
exec "$nyxd" start --home "$home" --log_level "${LOG_LEVEL:-warn}"
