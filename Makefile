# Nucleus: run untrusted workloads in gVisor sandboxes.
# `make help` lists the targets.

SHELL := /bin/bash
GO ?= go
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(DESTDIR)$(PREFIX)/bin
UNITDIR ?= $(DESTDIR)/etc/systemd/system
CONFDIR ?= $(DESTDIR)/etc/nucleus
TMPFILESDIR ?= $(DESTDIR)/usr/lib/tmpfiles.d
SYSUSERSDIR ?= $(DESTDIR)/usr/lib/sysusers.d

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X nucleus.dev/nucleus/internal/version.Version=$(VERSION) -X nucleus.dev/nucleus/internal/version.Revision=$(REVISION)

# Test timeouts: the e2e suite starts real sandboxes.
TEST_TIMEOUT ?= 30m
FUZZTIME ?= 5s

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: build
build: bin/runsc ## build bin/nucleusd, bin/nucleusctl and bin/runsc
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# runsc is built static from the gvisor.dev/gvisor version pinned in go.mod;
# a cgo build dies at sandbox start. Rebuilt only when go.mod changes.
bin/runsc: go.mod go.sum
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/runsc.tmp gvisor.dev/gvisor/runsc
	mv bin/runsc.tmp bin/runsc

.PHONY: test
test: build lint unit e2e fuzz ## everything: lint, unit, e2e (root + real runsc) and a short fuzz run

.PHONY: unit
unit: ## unit tests only (e2e tests are left to `make e2e`)
	$(GO) test -short -count=1 -skip 'E2E' ./...

.PHONY: e2e
e2e: build ## e2e tests: the real daemon, socket and runsc (needs root)
	NUCLEUS_E2E=require $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run 'E2E' ./...

.PHONY: fuzz
fuzz: ## run every fuzz target for $(FUZZTIME)
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
	  pkg=./$$(dirname $${f#./}); \
	  for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: lint
lint: ## gofmt + go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: generate
generate: ## regenerate the gRPC code from api/**/*.proto with the pinned generators
	@mkdir -p bin
	$(GO) build -o bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	$(GO) build -o bin/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc
	protoc -I . \
	  --plugin=protoc-gen-go=bin/protoc-gen-go --go_out=. --go_opt=paths=source_relative \
	  --plugin=protoc-gen-go-grpc=bin/protoc-gen-go-grpc --go-grpc_out=. --go-grpc_opt=paths=source_relative \
	  $$(find api -name '*.proto' | sort)

.PHONY: check-generate
check-generate: generate ## fail when the checked-in generated code drifts from the protos
	git diff --exit-code -- api/

.PHONY: run
run: build ## run nucleusd in the foreground with the default config (needs root)
	./bin/nucleusd --config deploy/nucleusd.toml

.PHONY: bench
bench: build ## benchmarks vs raw runsc; prints a table and writes bench/results.json
	$(GO) run ./bench -nucleusd bin/nucleusd -nucleusctl bin/nucleusctl -runsc bin/runsc -out bench/results.json

.PHONY: install
install: build ## install binaries, units, config (kept if present), tmpfiles/sysusers
	install -d $(BINDIR) $(UNITDIR) $(CONFDIR) $(TMPFILESDIR) $(SYSUSERSDIR)
	install -m 0755 bin/nucleusd bin/nucleusctl bin/runsc $(BINDIR)/
	install -m 0644 deploy/systemd/nucleusd.service deploy/systemd/nucleusd.socket $(UNITDIR)/
	install -m 0644 deploy/tmpfiles.d/nucleus.conf $(TMPFILESDIR)/nucleus.conf
	install -m 0644 deploy/sysusers.d/nucleus.conf $(SYSUSERSDIR)/nucleus.conf
	@if [ -e $(CONFDIR)/nucleusd.toml ]; then echo "keeping existing $(CONFDIR)/nucleusd.toml"; \
	  else install -m 0644 deploy/nucleusd.toml $(CONFDIR)/nucleusd.toml; fi

.PHONY: uninstall
uninstall: ## remove what install put in place (the config stays)
	rm -f $(BINDIR)/nucleusd $(BINDIR)/nucleusctl $(BINDIR)/runsc
	rm -f $(UNITDIR)/nucleusd.service $(UNITDIR)/nucleusd.socket
	rm -f $(TMPFILESDIR)/nucleus.conf $(SYSUSERSDIR)/nucleus.conf

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin
