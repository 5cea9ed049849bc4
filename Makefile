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

.PHONY: all build install test test-browser anonymity test-short test-race soak bench fuzz lint proto-gen proto-check localnet clean

all: build

build:
	@mkdir -p $(BUILD_DIR)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BUILD_DIR)/ ./cmd/...

install:
	$(GO) install -ldflags '$(LDFLAGS)' ./cmd/...

# Headless Chromium for the explorer's browser test (Debian's package).
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)
BROWSER_ARTIFACTS ?= $(CURDIR)/$(BUILD_DIR)/test-artifacts/browser

# Unit, keeper, in-process chain and end-to-end tests; when Chromium is
# installed (make test-browser installs it), TestLocalnet also opens every
# page of its network's explorer in it.
test:
	@if [ -n "$(CHROMIUM)" ]; then echo "== with the explorer's pages in $(CHROMIUM)"; \
	else echo "== no chromium: the explorer's pages are not opened in a browser (make test-browser installs it)"; fi
	CHROMIUM=$(CHROMIUM) NYX_BROWSER_ARTIFACTS=$(BROWSER_ARTIFACTS) $(GO) test -timeout $(TEST_TIMEOUT) ./...

# The localnet's explorer in headless Chromium: TestLocalnet runs the
# network make localnet runs (nyxd, nym-nodes, clients, nym-explorer) and
# checks every explorer page against the chain's queries; screenshots in
# BROWSER_ARTIFACTS. Installs Debian's chromium package if it is missing.
test-browser:
	@browser=$$(scripts/chromium.sh) && echo "== explorer pages in $$browser" && \
		CHROMIUM=$$browser NYX_BROWSER_ARTIFACTS=$(BROWSER_ARTIFACTS) \
		$(GO) test -run '^TestLocalnet$$' -count 1 -v -timeout 20m ./cmd/nyxd

test-short:
	$(GO) test -short -timeout $(TEST_TIMEOUT) ./...

# Sender entropy under real traffic: a local network with ANON_CLIENTS clients
# per condition (default, cover off, delay halved and doubled, quiet), recorded
# as a global passive observer sees it, next to a simulation of the same model
# at the same N and at 100, 1,000 and 10,000 clients; prints the table and
# writes it with PNG plots to build/anonymity. Fails if measurement and
# simulation differ by more than ANON_TOLERANCE bits for a condition whose
# clients kept up with 70% of their nominal packet rate, or if none did.
ANON_CLIENTS   ?= 10,25
ANON_SECONDS   ?= 10
ANON_TOLERANCE ?= 0.6
anonymity:
	NYX_ANON_CLIENTS=$(ANON_CLIENTS) NYX_ANON_SECONDS=$(ANON_SECONDS) NYX_ANON_TOLERANCE=$(ANON_TOLERANCE) \
		NYX_ANON_OUT=$(CURDIR)/$(BUILD_DIR)/anonymity \
		$(GO) test -tags anonymity -run '^TestAnonymity$$' -count 1 -v -timeout 60m ./anonymity

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
	$(GO) vet -tags anonymity ./anonymity

proto-gen:
	@scripts/protocgen.sh

proto-check:
	@scripts/protocheck.sh

# A local network on 127.0.0.1. LOCALNET_FLAGS=--fresh starts a new chain.
localnet: build
	@scripts/localnet.sh $(LOCALNET_FLAGS)

clean:
	rm -rf $(BUILD_DIR)
