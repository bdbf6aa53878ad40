# vm-apiserver: `make run` starts a standalone server, `make test` runs every test.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
BIN       := bin
DATA_DIR  ?= .vm-apiserver
PORT      ?= 8443
RUNTIME   ?= simulated
FUZZTIME  ?= 10s
# The deployment kit's soft memory limit, read from the kit's Deployment
# (artifacts/base/deployment.yaml) so that `make run` runs as it ships.
GOMEMLIMIT ?= $(shell awk '/- name: GOMEMLIMIT$$/ { getline; gsub(/"/, "", $$2); print $$2; exit }' artifacts/base/deployment.yaml)

GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
GIT_TREE   := $(shell test -z "$$(git status --porcelain 2>/dev/null)" && echo clean || echo dirty)
VERSION    ?= v0.1.0-dev+$(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/vm-apiserver/vm-apiserver/pkg/version
LDFLAGS := -X $(VERSION_PKG).gitVersion=$(VERSION) \
           -X $(VERSION_PKG).gitCommit=$(GIT_COMMIT) \
           -X $(VERSION_PKG).gitTreeState=$(GIT_TREE) \
           -X $(VERSION_PKG).buildDate=$(BUILD_DATE)

COMMANDS := $(notdir $(wildcard cmd/*))

.PHONY: all
all: build

## build: build every command in cmd/ into bin/, version stamped
.PHONY: build
build: deps
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(COMMANDS))

## deps: download the Go modules
.PHONY: deps
deps:
	$(GO) mod download

## run: start a standalone server on embedded etcd with the simulated runtime
.PHONY: run
run: build
	GOMEMLIMIT=$(GOMEMLIMIT) $(BIN)/vm-apiserver --data-dir $(DATA_DIR) --secure-port $(PORT) --runtime $(RUNTIME)

## kubectl: build kubectl v1.37.2 into bin/ (for machines without one)
.PHONY: kubectl
kubectl:
	hack/build-test-binaries.sh kubectl
	@mkdir -p $(BIN) && cp -f .cache/bin/*/kubectl $(BIN)/kubectl && echo "kubectl is in $(BIN)/kubectl"

## virtctl: build KubeVirt's virtctl (the version test/virtctl/go.mod pins) into bin/
.PHONY: virtctl
virtctl:
	eval "$$(hack/build-test-binaries.sh virtctl)" && mkdir -p $(BIN) && cp -f "$$VIRTCTL_BIN_DIR/virtctl" $(BIN)/virtctl && echo "virtctl is in $(BIN)/virtctl"

## test: lint, unit, storage, end-to-end, every benchmark once, short fuzz, bench harness, integration and bounded reliability tests, with a timing summary
.PHONY: test
test:
	@MAKE="$(MAKE)" hack/run-stages.sh lint test-unit test-benchmarks test-fuzz test-bench test-integration test-reliability-short

## test-unit: unit, storage (in-process etcd) and end-to-end (HTTPS) tests, with -race
# The heavy suites have stages of their own: switched off on purpose here,
# their process-level tests skip even under CI=true (test/framework/suite.go).
.PHONY: test-unit
test-unit: deps
	hack/build-test-binaries.sh kubectl virtctl
	hack/ensure-prometheus.sh
	VM_APISERVER_SUITE=none $(GO) test -race -count=1 -timeout 20m ./...

## test-benchmarks: run every Go benchmark once (-benchtime=1x), without -race
.PHONY: test-benchmarks
test-benchmarks: deps
	hack/test-benchmarks.sh

## test-fuzz: run each fuzz target for FUZZTIME
.PHONY: test-fuzz
test-fuzz: deps
	hack/fuzz.sh $(FUZZTIME)

## test-integration: conformance suite behind a real kube-apiserver
.PHONY: test-integration
test-integration: build
	hack/test-integration.sh

## test-reliability: linearizability, fault, hostile-input and security suite (full)
.PHONY: test-reliability
test-reliability: build
	hack/test-reliability.sh

## test-reliability-short: the bounded form of the reliability suite that CI runs
.PHONY: test-reliability-short
test-reliability-short: build
	hack/test-reliability.sh --short

## bench: action throughput/latency against its peers, scale figures, micro-benchmarks
.PHONY: bench
bench: build
	hack/bench.sh

## test-bench: a one-second run of the benchmark harness, checking what `make bench` prints
.PHONY: test-bench
test-bench: build
	hack/build-test-binaries.sh etcd kube-apiserver >/dev/null
	VM_APISERVER_SUITE=bench $(GO) test -count=1 ./test/bench/...

## generate: regenerate deepcopy, conversion, defaults, OpenAPI and the client
.PHONY: generate
generate:
	hack/update-codegen.sh

## verify: gofmt, go vet, lint, go.mod tidiness, generated code and the files and tests docs name; edits nothing
.PHONY: verify
verify: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(MAKE) --no-print-directory lint
	hack/verify-gomod.sh
	hack/verify-codegen.sh
	hack/verify-docs.sh

## lint: golangci-lint (pinned in hack/tools/go.mod) over both modules, with .golangci.yml
.PHONY: lint
lint:
	hack/lint.sh

## clean: remove build output and the default data dir
.PHONY: clean
clean:
	rm -rf $(BIN) _output $(DATA_DIR)

.PHONY: help
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'
