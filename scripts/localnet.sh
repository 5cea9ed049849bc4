#!/usr/bin/env bash
# Starts a whole local Nyx network on 127.0.0.1, every part a separate process:
# a one-validator chain with funded test accounts (dave also with an x/vesting
# account of locked NYM), five nym-nodes bonded through
# the CLI, each with its chain account funded by its operator (the chain assigns
# them entry gateway, exit gateway and mix layers 1-3),
# and two nym-clients (alice and bob) registered with the gateways, which
# enforce bandwidth credentials: each client buys one at its first start from
# the funded test account of its name; a network requester, announced in the
# chain's service directory, and a SOCKS5 client that finds it there, which buy
# theirs the same way (paid by carol); and a nym-monitor
# whose reports set the nodes' performance each epoch. Everything
# lives under one directory (default ./.localnet); Ctrl-C stops it all cleanly.
#
#   scripts/localnet.sh [--fresh] [--chain-only] [--dir DIR] [--base-port PORT]
#
#   --fresh        wipe DIR and start a new network (default: resume the network
#                  in DIR if there is one, else create it)
#   --chain-only   start only the chain
#   --dir DIR      where the network's files live (default ./.localnet)
#   --base-port P  chain: P2P P, RPC P+1, gRPC P+2, REST P+3; node i: mix P+100+10i,
#                  clients P+101+10i, HTTP P+102+10i; client j's API: P+200+j;
#                  SOCKS5 proxy P+300, the monitor's HTTP P+310, the explorer
#                  P+400 and its metrics P+410 (default 26650)
#
# NYXD, NYM_NODE, NYM_CLIENT, NYM_NETWORK_REQUESTER, NYM_SOCKS5_CLIENT,
# NYM_MONITOR and NYM_EXPLORER may name the binaries (default: build/...);
# MIXNET_EPOCH the x/mixnet epoch of a new chain (default 30s).
set -euo pipefail

dir=./.localnet
fresh=0
chain_only=0
base=26650
while [ $# -gt 0 ]; do
	case "$1" in
	--fresh) fresh=1 ;;
	--chain-only) chain_only=1 ;;
	--dir) dir="$2"; shift ;;
	--base-port) base="$2"; shift ;;
	-h | --help) sed -n '2,28p' "$0"; exit 0 ;;
	*) echo "localnet: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

nyxd=${NYXD:-build/nyxd}
nym_node=${NYM_NODE:-build/nym-node}
nym_client=${NYM_CLIENT:-build/nym-client}
nym_requester=${NYM_NETWORK_REQUESTER:-build/nym-network-requester}
nym_socks5=${NYM_SOCKS5_CLIENT:-build/nym-socks5-client}
nym_monitor=${NYM_MONITOR:-build/nym-monitor}
for b in "$nyxd" "$nym_node" "$nym_client" "$nym_requester" "$nym_socks5" "$nym_monitor"; do
	if [ ! -x "$b" ]; then
		echo "localnet: $b not found; run 'make build' first (make localnet does)" >&2
		exit 1
	fi
done
chain_id=nyx-localnet
# Every transaction pays the nodes' minimum gas price (app.toml's
# minimum-gas-prices: 0.025 in unym or unyx).
gas_prices=0.025unyx
home="$dir/node0"
nodes=5
accounts=alice,bob,carol,dave,operator0,operator1,operator2,operator3,operator4
rpc=$((base + 1)) grpc=$((base + 2)) rest=$((base + 3))
q() { "$nyxd" --home "$home" "$@"; }
say() { echo "localnet: $*"; }
# wait_tx HASH: wait (30 s at most) until the transaction is in a block, and
# fail unless it succeeded. `nyxd query wait-tx` can miss a transaction
# committed while it starts: the transaction's event can come before its
# subscription and the indexer only after its first lookup.
wait_tx() {
	local out code
	for _ in $(seq 1 60); do
		if out=$(q query tx "$1" -o json 2>/dev/null); then
			code=$(printf '%s' "$out" | grep -o '"code":[0-9]*' | head -1 | cut -d: -f2)
			[ "${code:-0}" = 0 ]
			return
		fi
		sleep 0.5
	done
	return 1
}

if [ "$fresh" = 1 ] && [ -d "$dir" ]; then
	say "removing $dir"
	rm -rf "$dir"
fi
mkdir -p "$dir"
# The monitor: its account is a network monitor in a new chain's genesis.
mhome="$dir/monitor"
if [ -f "$home/config/genesis.json" ]; then
	say "resuming the network in $dir (use --fresh to start a new one)"
else
	if [ ! -f "$mhome/config/config.toml" ]; then
		"$nym_monitor" --home "$mhome" init --chain-id "$chain_id" --grpc-addr "127.0.0.1:$((base + 2))" \
			--http-listen "127.0.0.1:$((base + 310))" --rate 50 >"$dir/monitor.init.log"
	fi
	"$nyxd" testnet init-files --v 1 --output-dir "$dir" --chain-id "$chain_id" \
		--accounts "$accounts" --starting-port "$base" --timeout-commit 500ms \
		--network-monitors "$("$nym_monitor" --home "$mhome" chain-address)" \
		--mixnet-epoch "${MIXNET_EPOCH:-30s}" --reward-pool 100000000000unym \
		--vesting dave=80000000000unym >"$dir/init.log" 2>&1 ||
		{ cat "$dir/init.log" >&2; exit 1; }
fi
mkdir -p "$dir/logs"

# Every process started here is stopped, in reverse order, on Ctrl-C, on
# TERM, and when any of them exits. They get SIGTERM: background processes of
# a script start with SIGINT ignored.
pids=()
stop_all() {
	trap - INT TERM EXIT
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

"$nyxd" start --home "$home" --log_level "${LOG_LEVEL:-warn}" >"$dir/logs/nyxd.log" 2>&1 &
pids+=($!)

# height: the chain's latest height, or nothing while it is not up.
height() { q status 2>/dev/null | sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p' || true; }
say "waiting for the chain's first blocks"
for _ in $(seq 1 120); do
	h=$(height)
	if [ -n "$h" ] && [ "$h" -ge 2 ]; then break; fi
	if ! kill -0 "${pids[0]}" 2>/dev/null; then say "nyxd exited; see $dir/logs/nyxd.log"; tail -20 "$dir/logs/nyxd.log" >&2; exit 1; fi
	sleep 0.5
done

# field NAME: the value of NAME in the bonding-info JSON held in $info.
field() { echo "$info" | sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p"; }

if [ "$chain_only" = 0 ]; then
	# Nodes: init, bond through the CLI (once), run.
	for i in $(seq 0 $((nodes - 1))); do
		nhome="$dir/nodes/node$i"
		mix=$((base + 100 + 10 * i)) clients=$((base + 101 + 10 * i)) http=$((base + 102 + 10 * i))
		if [ ! -f "$nhome/config/config.toml" ]; then
			"$nym_node" --home "$nhome" init --chain-id "$chain_id" --grpc-addr "127.0.0.1:$grpc" \
				--host 127.0.0.1 --listen-host 127.0.0.1 --mix-port "$mix" --clients-port "$clients" \
				--http-port "$http" >"$dir/logs/node$i.init.log"
		fi
		owner=$(q keys show "operator$i" -a)
		if ! q query mixnet node-by-owner "$owner" >/dev/null 2>&1; then
			info=$("$nym_node" --home "$nhome" bonding-info --owner "$owner" --grpc-addr "127.0.0.1:$grpc" -o json)
			say "bonding node$i (owner operator$i)"
			txhash=$(q tx mixnet bond-node 100000000unym "$(field identity_key)" "$(field sphinx_key)" \
				"$(field host)" "$(field mix_port)" "$(field clients_port)" "$(field http_port)" "$(field signature)" \
				--from "operator$i" --gas 400000 --gas-prices "$gas_prices" -y -o json | sed -n 's/.*"txhash":"\([0-9A-F]*\)".*/\1/p')
			wait_tx "$txhash" ||
				{ say "bonding node$i failed"; q query tx "$txhash" >&2 || true; exit 1; }
			# The node pays for announcing its sphinx keys from its own account.
			account=$("$nym_node" --home "$nhome" chain-address)
			say "funding node$i's chain account $account"
			txhash=$(q tx bank send "operator$i" "$account" 10000000unym --gas 200000 --gas-prices "$gas_prices" -y -o json |
				sed -n 's/.*"txhash":"\([0-9A-F]*\)".*/\1/p')
			wait_tx "$txhash" ||
				{ say "funding node$i's account failed"; q query tx "$txhash" >&2 || true; exit 1; }
		fi
		"$nym_node" --home "$nhome" run >"$dir/logs/node$i.log" 2>&1 &
		pids+=($!)
	done

	say "waiting for the epoch that assigns the nodes their roles"
	for _ in $(seq 1 240); do
		n=$(q query mixnet topology -o json 2>/dev/null | grep -o '"role"' | wc -l || true)
		if [ "${n:-0}" -ge "$nodes" ]; then break; fi
		sleep 0.5
	done

	# Monitor (a network made before it had one has none): funded once, run.
	if [ -f "$mhome/config/config.toml" ]; then
		if [ ! -f "$mhome/funded" ]; then
			account=$("$nym_monitor" --home "$mhome" chain-address)
			say "funding the monitor's chain account $account"
			txhash=$(q tx bank send alice "$account" 100000000unym --gas 200000 --gas-prices "$gas_prices" -y -o json |
				sed -n 's/.*"txhash":"\([0-9A-F]*\)".*/\1/p')
			wait_tx "$txhash" ||
				{ say "funding the monitor's account failed"; q query tx "$txhash" >&2 || true; exit 1; }
			touch "$mhome/funded"
		fi
		"$nym_monitor" --home "$mhome" run >"$dir/logs/monitor.log" 2>&1 &
		pids+=($!)
	fi

	# Bandwidth credentials: the gateways enforce them (nym-node init turns
	# enforce_credentials on), so a client without one cannot send. Once per
	# client home (nym-client's, the requester's, the SOCKS5 client's), its chain
	# key is funded from a test account and buys a credential (1 NYM: about
	# 1 GiB of traffic) through the chain; more: nym-client credential buy, or
	# auto_buy in the home's config.toml.
	buy_credential() { # home, name, funding test account, log
		local account txhash
		account=$("$nym_client" --home "$1" credential address)
		say "funding $2's chain account $account and buying a bandwidth credential"
		txhash=$(q tx bank send "$3" "$account" 10000000unym --gas 200000 --gas-prices "$gas_prices" -y -o json |
			sed -n 's/.*"txhash":"\([0-9A-F]*\)".*/\1/p')
		wait_tx "$txhash" || { say "funding $2's chain account failed"; q query tx "$txhash" >&2 || true; exit 1; }
		"$nym_client" --home "$1" credential buy --amount 1000000unym >>"$4" 2>&1 ||
			{ say "$2 could not buy a credential"; tail -5 "$4" >&2; exit 1; }
	}

	# Clients: init (registers with a gateway from the topology) once, run.
	j=0
	for c in alice bob; do
		chome="$dir/clients/$c"
		if [ ! -f "$chome/config.toml" ] && [ ! -f "$chome/config/config.toml" ]; then
			"$nym_client" --home "$chome" init --grpc-addr "127.0.0.1:$grpc" --listen "127.0.0.1:$((base + 200 + j))" \
				>"$dir/logs/client-$c.init.log" 2>&1 || { cat "$dir/logs/client-$c.init.log" >&2; exit 1; }
			buy_credential "$chome" "$c" "$c" "$dir/logs/client-$c.init.log"
		fi
		"$nym_client" --home "$chome" run >"$dir/logs/client-$c.log" 2>&1 &
		pids+=($!)
		j=$((j + 1))
	done

	# A network requester and a SOCKS5 client that finds it on chain. For local
	# testing the requester's exit policy accepts 127.0.0.1 on every port before
	# the default policy (which rejects private and loopback addresses): never
	# run a public requester with this policy.
	socks=$((base + 300))
	rhome="$dir/requester" shome="$dir/socks5"
	if [ ! -f "$rhome/config/requester.toml" ]; then
		{
			echo "# localnet only: 127.0.0.1 is reachable through this requester"
			echo "accept 127.0.0.1:*"
			"$nym_requester" default-policy
		} >"$dir/requester-policy.txt"
		"$nym_requester" --home "$rhome" init --grpc-addr "127.0.0.1:$grpc" --policy "$dir/requester-policy.txt" \
			--announce --description "localnet exit: accepts 127.0.0.1 for local testing" \
			>"$dir/logs/requester.init.log" 2>&1 || { cat "$dir/logs/requester.init.log" >&2; exit 1; }
		buy_credential "$rhome" requester carol "$dir/logs/requester.init.log"
		# The requester sends (cover included) in large packets all the time:
		# it buys its next credential itself.
		sed -i 's/^auto_buy = false$/auto_buy = true/' "$rhome/config/config.toml"
		# Its entry in the chain's service directory takes a deposit (the
		# service_deposit param, 100 NYM) from the same chain account.
		account=$("$nym_requester" --home "$rhome" chain-address)
		say "funding the requester's chain account $account for its service directory deposit"
		txhash=$(q tx bank send carol "$account" 101000000unym --gas 200000 --gas-prices "$gas_prices" -y -o json |
			sed -n 's/.*"txhash":"\([0-9A-F]*\)".*/\1/p')
		wait_tx "$txhash" || { say "funding the requester's chain account failed"; q query tx "$txhash" >&2 || true; exit 1; }
	fi
	provider=$("$nym_requester" --home "$rhome" address)
	# Listed in the directory before the SOCKS5 client looks (announce does
	# nothing when it is listed already; run would announce it too, with
	# [directory] announce = true, but later).
	service_id=$("$nym_requester" --home "$rhome" announce --output json 2>>"$dir/logs/requester.init.log" |
		sed -n 's/.*"service_id": *"\([0-9]*\)".*/\1/p')
	[ -n "$service_id" ] || { say "the requester could not announce itself"; tail -5 "$dir/logs/requester.init.log" >&2; exit 1; }
	"$nym_requester" --home "$rhome" run >"$dir/logs/requester.log" 2>&1 &
	pids+=($!)
	if [ ! -f "$shome/config/socks5.toml" ]; then
		# No --provider: the SOCKS5 client picks a requester from the chain's
		# service directory at each start.
		"$nym_socks5" --home "$shome" init --grpc-addr "127.0.0.1:$grpc" --listen "127.0.0.1:$socks" \
			>"$dir/logs/socks5.init.log" 2>&1 || { cat "$dir/logs/socks5.init.log" >&2; exit 1; }
		buy_credential "$shome" "SOCKS5 client" carol "$dir/logs/socks5.init.log"
	fi
	"$nym_socks5" --home "$shome" run >"$dir/logs/socks5.log" 2>&1 &
	pids+=($!)
fi

# The explorer: the network in a browser, read from the chain's gRPC; its
# home (config only) is made once, its /metrics and /health on P+410.
nym_explorer=${NYM_EXPLORER:-build/nym-explorer}
explorer_url=
if [ -x "$nym_explorer" ]; then
	ehome="$dir/explorer"
	if [ ! -f "$ehome/config/config.toml" ]; then
		"$nym_explorer" --home "$ehome" init --grpc-addr "127.0.0.1:$grpc" --listen "127.0.0.1:$((base + 400))" \
			--http-listen "127.0.0.1:$((base + 410))" >"$dir/logs/explorer.init.log" 2>&1 ||
			{ cat "$dir/logs/explorer.init.log" >&2; exit 1; }
	fi
	"$nym_explorer" --home "$ehome" run >"$dir/logs/explorer.log" 2>&1 &
	pids+=($!)
	explorer_url="http://127.0.0.1:$((base + 400))/ (metrics http://127.0.0.1:$((base + 410))/metrics)"
else
	say "$nym_explorer not found; the explorer does not run"
fi

cat <<MSG

  Nyx localnet (chain id $chain_id), files and logs in $dir
    CometBFT RPC  http://127.0.0.1:$rpc
    gRPC          127.0.0.1:$grpc
    REST          http://127.0.0.1:$rest
    Explorer      ${explorer_url:-not running}
  Test keyring accounts (1,000,000 NYX and 1,000,000 NYM each): ${accounts//,/, }, validator

  The chain:
    $nyxd --home $home query bank balances \$($nyxd --home $home keys show alice -a)
    $nyxd --home $home tx bank send alice \$($nyxd --home $home keys show bob -a) 1000unym --gas-prices $gas_prices -y
    $nyxd --home $home query mixnet topology
    curl http://127.0.0.1:$rest/nyx/mixnet/v1/topology

  A bandwidth credential, issued by the validator in its vote extensions:
    $nyxd --home $home coconut prepare-request 1000000unym alice.secrets   # prints the request's arguments
    $nyxd --home $home tx coconut request-credential <those arguments> --from alice --gas auto --gas-adjustment 1.5 --gas-prices $gas_prices -y
    $nyxd --home $home coconut assemble <request id> alice.secrets

  dave also has a vesting account (80,000 NYM, 8 periods of 3 months, all locked);
  its locked coins can be delegated to a node (node 1 here) but not withdrawn:
    $nyxd --home $home query vesting account \$($nyxd --home $home keys show dave -a)
    $nyxd --home $home tx vesting delegate-from-vesting \$($nyxd --home $home keys show dave -a) 1 1000000000unym --from dave --gas-prices $gas_prices -y
MSG
if [ "$chain_only" = 0 ]; then
	cat <<MSG

  The mixnet: $nodes nym-nodes under $dir/nodes, clients alice and bob under $dir/clients.
  Send a message from alice to bob, in two terminals:
    $nym_client --home $dir/clients/bob receive
    $nym_client --home $dir/clients/alice send --to \$($nym_client --home $dir/clients/bob address) "hello bob"
  Apps use each client's websocket API: alice ws://127.0.0.1:$((base + 200))/, bob ws://127.0.0.1:$((base + 201))/
  The gateways enforce bandwidth credentials; each client holds what it bought:
    $nym_client --home $dir/clients/alice credential list
    $nym_client --home $dir/clients/alice credential buy --amount 1000000unym

  SOCKS5 proxy: 127.0.0.1:$socks
  (through the mixnet to a network requester the SOCKS5 client found in the chain's
  service directory: here the localnet's, service $service_id at $provider,
  whose exit policy allows 127.0.0.1 for local testing: $dir/requester/exit-policy.txt)
    curl --socks5-hostname 127.0.0.1:$socks http://127.0.0.1:$((base + 102))/health
    $nyxd --home $home query mixnet services --kind network-requester
    $nym_socks5 --home $dir/socks5 providers
  The monitor (under $dir/monitor) reports each node's performance every epoch; from the
  second epoch on, the topology's "performance" fields are its measurements:
    $nyxd --home $home query mixnet topology
    curl http://127.0.0.1:$((base + 310))/metrics | grep nyx_monitor_node_performance
MSG
fi
cat <<MSG

  Ctrl-C stops everything; run 'make localnet' again to resume.

MSG

# Run until Ctrl-C or until any process exits.
set +e
wait -n "${pids[@]}"
say "a process exited; stopping the network (logs in $dir/logs)"
exit 1
