# Nyx: make localnet (run a local network), make test (run the tests).

GO        ?= go
BUILD_DIR ?= build
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SDK_VERSION_PKG := github.com/cosmos/cosmos-sdk/version
LDFLAGS := -X $(SDK_VERSION_PKG).Name=nyx -X $(SDK_VERSION_PKG).AppName=nyxd \
	-X $(SDK_VERSION_PKG).Version=$(VERSION) -X $(SDK_VERSION_PKG).Commit=$(COMMIT)

# Test time budget: the whole suite runs well under this on 2 cores.
TEST_TIMEOUT ?= 25m
FUZZTIME   ?= 10s
# How long make soak keeps the network under traffic and attack.
SOAK_DURATION ?= 2m

.PHONY: all build install test test-short test-race soak bench fuzz lint proto-gen proto-check localnet clean

all: build

build:
	@mkdir -p $(BUILD_DIR)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BUILD_DIR)/ ./cmd/...

install:
	$(GO) install -ldflags '$(LDFLAGS)' ./cmd/...

# Unit, keeper, in-process chain and end-to-end tests.
test:
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

test-short:
	$(GO) test -short -timeout $(TEST_TIMEOUT) ./...

# The tests under the race detector (slower: kept out of make test).
test-race:
	$(GO) test -race -timeout 60m ./...

# A whole local network under steady honest traffic while strangers attack
# every port of every node, for SOAK_DURATION; every honest message must arrive.
soak:
	NYX_SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -run '^TestSoak$$' -count 1 -v -timeout 0 ./testutil/mixnet

# Benchmarks, each next to its floor in the same run.
bench:
	@scripts/bench.sh

# Every fuzz target for FUZZTIME each.
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags soak ./testutil/mixnet
	$(GO) vet -tags dkgfault ./x/coconut/types

proto-gen:
	@scripts/protocgen.sh

proto-check:
	@scripts/protocheck.sh

# A local network on 127.0.0.1. LOCALNET_FLAGS=--fresh starts a new chain.
localnet: build
	@scripts/localnet.sh $(LOCALNET_FLAGS)

clean:
	rm -rf $(BUILD_DIR)
