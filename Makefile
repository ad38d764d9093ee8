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
SYSCTLDIR ?= $(DESTDIR)/usr/lib/sysctl.d

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# runsc's version stamp, as gVisor's release build sets it
# (gvisor.dev/gvisor/runsc/version.version; a plain go build leaves
# "VERSION_MISSING"): the gvisor.dev/gvisor module version pinned in go.mod.
# nucleusd and the supervisor link gVisor's code too and get the same stamp.
GVISOR_VERSION ?= $(shell $(GO) list -m -f '{{.Version}}' gvisor.dev/gvisor 2>/dev/null || echo VERSION_MISSING)
RUNSC_LDFLAGS = -X gvisor.dev/gvisor/runsc/version.version=$(GVISOR_VERSION)
LDFLAGS = -X nucleus.dev/nucleus/internal/version.Version=$(VERSION) -X nucleus.dev/nucleus/internal/version.Revision=$(REVISION) $(RUNSC_LDFLAGS)
# grpcnotrace leaves golang.org/x/net/trace (and html/template with it)
# out of every binary: nothing here enables gRPC's tracing, and each
# nucleusctl call starts 4 MB lighter (0.3 ms of CPU, bench/README.md).
BUILD_TAGS ?= grpcnotrace

# Test timeouts: the e2e suite starts real sandboxes.
TEST_TIMEOUT ?= 30m
# An execution count, not a duration: with a duration, Go before 1.27 can
# fail a target with a bare "context deadline exceeded" when the deadline
# races a busy worker (golang/go#75804; seen here under load, no input
# written). 10000 executions take 1-5 s per target on this machine.
FUZZTIME ?= 10000x

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: build
build: bin/runsc ## build bin/nucleusd, bin/nucleus-supervisor, bin/nucleus-fs, bin/nucleusctl, bin/containerd-shim-nucleus-v2 and bin/runsc
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(BUILD_TAGS)' -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# runsc is built static from the gvisor.dev/gvisor version pinned in go.mod;
# a cgo build dies at sandbox start, and stamped with that version (runsc
# --version, nucleusctl info). Rebuilt only when go.mod changes.
bin/runsc: go.mod go.sum
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(RUNSC_LDFLAGS)' -o bin/runsc.tmp gvisor.dev/gvisor/runsc
	mv bin/runsc.tmp bin/runsc

# gVisor's own containerd shim, the baseline of the bench's ctr figure:
# built static from the pinned gvisor.dev/gvisor in a scratch module, so its
# containerd/v2 dependency stays out of go.mod. Not part of build.
bin/containerd-shim-runsc-v1: go.mod go.sum
	@mkdir -p bin
	rm -rf bin/.gvshim && mkdir bin/.gvshim
	sed -e 's|^module .*|module gvshimbuild|' -e '/^tool (/,/^)/d' go.mod > bin/.gvshim/go.mod
	cp go.sum bin/.gvshim/go.sum && echo 'package main' > bin/.gvshim/main.go
	cd bin/.gvshim && CGO_ENABLED=0 GOFLAGS=-mod=mod $(GO) build -trimpath -o ../containerd-shim-runsc-v1.tmp gvisor.dev/gvisor/shim
	rm -rf bin/.gvshim && mv bin/containerd-shim-runsc-v1.tmp bin/containerd-shim-runsc-v1

.PHONY: test
test: build lint check-api unit e2e fuzz ## everything: lint, the API check, unit, e2e (root + real runsc) and a short fuzz run

.PHONY: unit
unit: ## unit tests only (e2e tests are left to `make e2e`)
	$(GO) test -short -count=1 -skip 'E2E' ./...

.PHONY: e2e
e2e: build bin/crictl ## e2e tests: the real daemon, socket and runsc (needs root; the CRI tests need containerd, runc, CNI plugins: see .ci/run)
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
	@# Import paths start below api/ (nucleus/v1/nucleus.proto), as for buf,
	@# so one proto file can import another.
	cd api && protoc -I . \
	  --plugin=protoc-gen-go=../bin/protoc-gen-go --go_out=. --go_opt=paths=source_relative \
	  --plugin=protoc-gen-go-grpc=../bin/protoc-gen-go-grpc --go-grpc_out=. --go-grpc_opt=paths=source_relative \
	  $$(find . -name '*.proto' | sed 's|^\./||' | sort)

# buf (lint and breaking-change detection) is pinned in tools/go.mod, a
# module of its own, so its dependencies never move the daemon's.
bin/buf: tools/go.mod tools/go.sum
	@mkdir -p bin
	$(GO) -C tools build -o ../bin/buf.tmp github.com/bufbuild/buf/cmd/buf
	mv bin/buf.tmp bin/buf

# crictl (the CRI e2e test's client) is pinned in tools/crictl/go.mod, a
# module of its own: cri-tools' Kubernetes dependencies never move the
# daemon's or buf's.
bin/crictl: tools/crictl/go.mod tools/crictl/go.sum
	@mkdir -p bin
	$(GO) -C tools/crictl build -ldflags "-X sigs.k8s.io/cri-tools/pkg/version.Version=$$($(GO) -C tools/crictl list -m -f '{{.Version}}' sigs.k8s.io/cri-tools)" -o ../../bin/crictl.tmp sigs.k8s.io/cri-tools/cmd/crictl
	mv bin/crictl.tmp bin/crictl

# The API as released: check-api refuses any change that breaks a client
# built against it. A deliberate break updates it (make api-snapshot) in the
# same commit, and the commit message says so.
API_SNAPSHOT := api/released.binpb

.PHONY: check-api
check-api: bin/buf ## buf lint + breaking-change check of api/ against $(API_SNAPSHOT)
	bin/buf lint
	bin/buf breaking --against $(API_SNAPSHOT)
	@# The check must be able to fail: a copy of the API with one field
	@# removed must be refused.
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; cp -r api buf.yaml $$tmp/; \
	  sed -i '0,/^  string id = 1;/s///' $$tmp/api/nucleus/v1/nucleus.proto; \
	  if (cd $$tmp && $(CURDIR)/bin/buf breaking --against $(CURDIR)/$(API_SNAPSHOT) >/dev/null 2>&1); then \
	    echo "check-api: buf breaking accepted a removed field"; exit 1; fi

.PHONY: api-snapshot
api-snapshot: bin/buf ## record the current API as released ($(API_SNAPSHOT))
	bin/buf build -o $(API_SNAPSHOT)

.PHONY: check-generate
check-generate: generate ## fail when the checked-in generated code drifts from the protos
	git diff --exit-code -- api/

.PHONY: run
run: build ## run nucleusd in the foreground with the default config (needs root)
	./bin/nucleusd --config deploy/nucleusd.toml

.PHONY: bench
bench: build bin/containerd-shim-runsc-v1 ## benchmarks vs raw runsc; prints a table and writes bench/results.json
	$(GO) run ./bench -nucleusd bin/nucleusd -nucleusctl bin/nucleusctl -runsc bin/runsc -out bench/results.json

.PHONY: install
install: build ## install binaries, units, config (kept if present), tmpfiles/sysusers/sysctl; honours DESTDIR and PREFIX
	install -d $(BINDIR) $(UNITDIR) $(CONFDIR) $(TMPFILESDIR) $(SYSUSERSDIR)
	@# install(1) unlinks before copying: running supervisors and sandboxes keep their old binaries.
	install -m 0755 bin/nucleusd bin/nucleus-supervisor bin/nucleus-fs bin/nucleusctl bin/containerd-shim-nucleus-v2 bin/runsc $(BINDIR)/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' deploy/systemd/nucleusd.service > $(UNITDIR)/nucleusd.service.tmp
	chmod 0644 $(UNITDIR)/nucleusd.service.tmp && mv $(UNITDIR)/nucleusd.service.tmp $(UNITDIR)/nucleusd.service
	install -m 0644 deploy/systemd/nucleusd.socket $(UNITDIR)/nucleusd.socket
	install -m 0644 deploy/tmpfiles.d/nucleus.conf $(TMPFILESDIR)/nucleus.conf
	install -m 0644 deploy/sysusers.d/nucleus.conf $(SYSUSERSDIR)/nucleus.conf
	install -D -m 0644 deploy/sysctl.d/50-nucleus.conf $(SYSCTLDIR)/50-nucleus.conf
	@if [ -e $(CONFDIR)/nucleusd.toml ]; then echo "keeping existing $(CONFDIR)/nucleusd.toml (the new defaults: deploy/nucleusd.toml)"; \
	  else install -m 0644 deploy/nucleusd.toml $(CONFDIR)/nucleusd.toml; fi
	@if [ -z "$(DESTDIR)" ]; then echo "next: systemd-sysusers; systemd-tmpfiles --create; sysctl --system; systemctl daemon-reload; systemctl enable --now nucleusd.socket nucleusd.service"; fi

.PHONY: uninstall
uninstall: ## remove what install put in place (the config, state and running containers stay)
	rm -f $(BINDIR)/nucleusd $(BINDIR)/nucleus-supervisor $(BINDIR)/nucleus-fs $(BINDIR)/nucleusctl $(BINDIR)/containerd-shim-nucleus-v2 $(BINDIR)/runsc
	rm -f $(UNITDIR)/nucleusd.service $(UNITDIR)/nucleusd.socket
	rm -f $(TMPFILESDIR)/nucleus.conf $(SYSUSERSDIR)/nucleus.conf $(SYSCTLDIR)/50-nucleus.conf

# verify-units installs into a scratch DESTDIR and runs systemd-analyze
# verify there (--root: ExecStart must exist inside it). The host's own unit
# directory is copied in so the standard targets the units name resolve. Any
# output, warnings included, fails the target: verify exits 0 on unknown keys.
# Then the installed tmpfiles.d and sysusers.d entries are applied to the
# same scratch root.
.PHONY: verify-units
verify-units: ## make install DESTDIR=<tmp>, then systemd-analyze verify the installed units
	@set -euo pipefail; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	  $(MAKE) --no-print-directory install DESTDIR="$$d" >/dev/null; \
	  sys=; for s in /usr/lib/systemd/system /lib/systemd/system; do [ -e $$s/sysinit.target ] && { sys=$$s; break; }; done; \
	  [ -n "$$sys" ] || { echo "verify-units: no systemd unit directory on this host"; exit 1; }; \
	  mkdir -p "$$d/usr/lib/systemd"; cp -r "$$sys" "$$d/usr/lib/systemd/system"; \
	  units="$$d$(UNITDIR:$(DESTDIR)%=%)"; \
	  out=$$(systemd-analyze verify --root="$$d" --man=no "$$units/nucleusd.service" "$$units/nucleusd.socket" 2>&1) || { echo "$$out"; exit 1; }; \
	  if [ -n "$$out" ]; then echo "$$out"; echo "verify-units: systemd-analyze printed warnings"; exit 1; fi; \
	  systemd-tmpfiles --root="$$d" --create "$$d$(TMPFILESDIR:$(DESTDIR)%=%)/nucleus.conf"; \
	  [ "$$(stat -c %a "$$d/var/lib/nucleus") $$(stat -c %a "$$d/run/nucleus")" = "711 711" ] || { echo "verify-units: tmpfiles.d made the wrong modes"; exit 1; }; \
	  systemd-sysusers --root="$$d" "$$d$(SYSUSERSDIR:$(DESTDIR)%=%)/nucleus.conf" >/dev/null 2>&1; \
	  grep -q '^nucleus:' "$$d/etc/group" || { echo "verify-units: sysusers.d did not create the nucleus group"; exit 1; }; \
	  echo "verify-units: the units verify cleanly; tmpfiles.d and sysusers.d apply (installed under $$d)"

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin
