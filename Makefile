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
# `make test` sets it once for its stages: with the same flags, a stage's
# `make build` finds bin/ up to date instead of linking it again.
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/vm-apiserver/vm-apiserver/pkg/version
LDFLAGS := -X $(VERSION_PKG).gitVersion=$(VERSION) \
           -X $(VERSION_PKG).gitCommit=$(GIT_COMMIT) \
           -X $(VERSION_PKG).gitTreeState=$(GIT_TREE) \
           -X $(VERSION_PKG).buildDate=$(BUILD_DATE)

COMMANDS := $(notdir $(wildcard cmd/*))

.PHONY: all
all: build

## build: build every command in cmd/ into bin/, version stamped
# Without -trimpath, as go test and go vet compile: the three share one build
# cache (the release image, Dockerfile, builds with -trimpath).
.PHONY: build
build: deps
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(COMMANDS))

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

## test: lint, integration beside the bench harness, bounded reliability, then unit, storage and end-to-end tests with every benchmark once, with a timing summary
# The stages that run servers mostly wait on them: meanwhile, at the lowest
# CPU priority, PREBUILD builds what the later stages need, and
# test-integration and test-bench run side by side, after bin/ is built for
# both. Two builds that compile the same packages at once both compile them,
# so PREBUILD builds virtctl (whose Kubernetes libraries are a copy of their
# own) while lint compiles the project's dependencies, and etcd and
# kube-apiserver, which share them, only after lint; test-unit waits for the
# -race build. Fuzzing for time is `make fuzz`; the fuzz targets' seed
# corpora run in test-unit.
.PHONY: test
test: deps
	@BUILD_DATE=$(BUILD_DATE) MAKE="$(MAKE)" hack/run-stages.sh --background '$(PREBUILD)' \
		lint build test-integration+test-bench test-reliability-short background test-unit

PREBUILD := hack/ensure-prometheus.sh && hack/build-test-binaries.sh virtctl >/dev/null \
	&& hack/run-stages.sh --await lint \
	&& hack/build-test-binaries.sh etcd kube-apiserver kubectl >/dev/null \
	&& $(GO) list -race -test -deps -export ./... >/dev/null

## test-unit: unit, storage (in-process etcd) and end-to-end (HTTPS) tests, the fuzz targets' seed corpora, and every benchmark once, with -race
# The heavy suites have stages of their own: switched off on purpose here,
# their process-level tests skip even under CI=true (test/framework/suite.go).
# The benchmarks run once (-benchtime=1x) in the same test binaries, so that
# none stops compiling or failing unnoticed between `make bench` runs.
# Four packages run at a time (go test's default is one per core): the
# end-to-end package spends half its time waiting on the servers it starts,
# and the others fill the cores meanwhile. It is named first so that go
# test builds and starts it first: it takes the longest.
.PHONY: test-unit
test-unit: deps
	hack/build-test-binaries.sh kubectl virtctl
	hack/ensure-prometheus.sh
	VM_APISERVER_SUITE=none $(GO) test -race -p 4 -count=1 -timeout 20m -bench . -benchtime 1x ./test/e2e ./...

## test-benchmarks: run every Go benchmark once (-benchtime=1x), without -race (test-unit runs them with -race)
.PHONY: test-benchmarks
test-benchmarks: deps
	hack/test-benchmarks.sh

## fuzz: run each fuzz target for FUZZTIME (default 10s), exploring new inputs (CI runs only the seed corpora, in test-unit)
.PHONY: fuzz
fuzz: deps
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

## lint: gofmt -s, and vmlint (hack/tools/vmlint: the analyzers .golangci.yml names) through go vet, over every module
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
