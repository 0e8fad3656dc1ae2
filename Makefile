# lockdav — make run | build | test | litmus | bench | fuzz | lint | deps
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   = -X main.version=$(VERSION)
FUZZTIME ?= 60s
# golangci-lint is pinned: a newer release brings new checks, and `make lint` must give every
# machine the same findings. It lives in $(go env GOPATH)/bin, which need not be on PATH.
GOLANGCI_LINT_VERSION = 2.15.0
GOLANGCI_LINT = $(shell $(GO) env GOPATH)/bin/golangci-lint

.PHONY: run build test deps golangci-lint litmus bench fuzz lint

## run: serve ./data on 127.0.0.1:8080 with the default settings (state in ./state)
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/lockdav serve

## build: bin/lockdav, its version from git describe
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/lockdav ./cmd/lockdav

## test: every test with the race detector, litmus included
test: deps
	$(GO) test -race ./...

## deps: install the programs the tests and `make bench` drive, when missing (as root, with
## apt-get), and golangci-lint for `make lint`. nginx-extras is the benchmark's nginx reference
## (nginx with dav_ext), etcd-server the etcd the etcd-mode tests run; the benchmark starts its own nginx on a loopback port, so the package's
## service is kept from starting at install (policy-rc.d answering 101, the Debian way, unless
## the machine has a policy of its own) rather than left holding port 80.
DEB_PKGS = litmus cadaver rclone davfs2 chromium curl nginx-extras etcd-server
DEB_CMDS = litmus cadaver rclone mount.davfs chromium curl nginx etcd
deps: golangci-lint
	@missing=0; for c in $(DEB_CMDS); do PATH="$$PATH:/usr/sbin" command -v $$c >/dev/null || missing=1; done; \
	if [ $$missing = 0 ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		policy=; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1; fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PKGS); rc=$$?; \
		if [ -n "$$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $$rc; \
	else \
		echo "some of $(DEB_CMDS) are missing and this is not root with apt-get:"; \
		echo "    sudo apt-get install -y $(DEB_PKGS)"; \
		echo "(the tests that drive them fail until they are installed)"; \
	fi

## golangci-lint: golangci-lint $(GOLANGCI_LINT_VERSION) in $(go env GOPATH)/bin, installed with
## go install when missing or of another version
golangci-lint:
	@if [ "$$($(GOLANGCI_LINT) version --short 2>/dev/null)" != "$(GOLANGCI_LINT_VERSION)" ]; then \
		echo "installing golangci-lint v$(GOLANGCI_LINT_VERSION) into $$($(GO) env GOPATH)/bin"; \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$(GOLANGCI_LINT_VERSION); \
	fi

## litmus: the litmus conformance harness alone, verbose
litmus: deps
	$(GO) test -race -run TestLitmus -v ./litmus/

## bench: lockdav against bare x/net/webdav, side by side (see BENCHMARKS.md)
bench:
	$(GO) run ./cmd/lockdav-bench $(BENCHFLAGS)

## fuzz: every native fuzz target, each for FUZZTIME (default 60s). A target fails only when it
## writes a reproducer: Go 1.26's fuzzing coordinator can end a clean run with a bare "context
## deadline exceeded" (go.dev/issue/75804, fixed in Go 1.27), which is reported and passed over.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		targets=$$($(GO) test -list '^Fuzz' $$pkg); \
		for target in $$(echo "$$targets" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			corpus="$$dir/testdata/fuzz/$$target"; \
			before=$$(ls "$$corpus" 2>/dev/null | wc -l); \
			if ! $(GO) test -run '^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg; then \
				after=$$(ls "$$corpus" 2>/dev/null | wc -l); \
				if [ "$$after" -gt "$$before" ]; then echo "$$target: reproducer written to $$corpus"; exit 1; fi; \
				echo "$$target: stopped without a reproducer (go.dev/issue/75804); not a finding"; \
			fi; \
		done; \
	done

## lint: go vet, gofmt and golangci-lint (.golangci.yml); fails on any finding
lint: golangci-lint
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...
