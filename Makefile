# wharf: `make run` starts a server on embedded defaults; `make test` runs
# the whole suite on SQLite and PostgreSQL, filesystem and S3: it installs
# the programs the tests drive (scripts/install-test-tools.sh), starts
# PostgreSQL and a local SeaweedFS S3 server if needed, and stops at the
# first of these steps that fails. No suite may be skipped in make test.
SHELL := /bin/bash
GO ?= go

.PHONY: build run test test-tools bench bench-small image

# -buildvcs=auto stamps the commit "wharf version" prints, even where
# GOFLAGS turns stamping off.
build:
	$(GO) build -buildvcs=auto -o wharf ./cmd/wharf

run:
	$(GO) run ./cmd/wharf serve

test-tools:
	@./scripts/install-test-tools.sh

# Each service is found or started in a plain assignment, never inside
# `export X="$(...)"`, whose status is export's own: with set -e a failing
# script stops the recipe here.
test: test-tools
	@set -euo pipefail; \
	tools="$$(./scripts/install-test-tools.sh --print-bin)"; \
	postgres="$$(./scripts/test-postgres.sh)"; \
	s3="$$(./scripts/test-s3.sh)"; \
	export PATH="$$tools:$$PATH" TOOLS_BIN="$$tools" WHARF_TEST_POSTGRES="$$postgres" WHARF_TEST_S3="$$s3"; \
	unset WHARF_ALLOW_SKIP; \
	echo "tools: $$tools; PostgreSQL suite: $$postgres; S3 suite: …@$${s3#*@}"; \
	test -z "$$(gofmt -l .)" || { echo "gofmt -l lists unformatted files:"; gofmt -l .; exit 1; }; \
	$(GO) vet ./...; \
	$(GO) test -count=1 -timeout 20m ./...

bench:
	@set -euo pipefail; \
	postgres="$$(./scripts/test-postgres.sh)"; \
	export WHARF_TEST_POSTGRES="$$postgres"; \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...

# The container image (Containerfile), built offline: a static binary and
# the few files a FROM scratch image needs, staged in a temporary build
# context, then buildah (chroot isolation: no daemon, no user namespace).
# IMAGE names the result; BUILDAH may carry buildah's global flags (the
# tests give it a private store).
IMAGE ?= localhost/wharf:latest
BUILDAH ?= buildah
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt

image:
	@set -euo pipefail; \
	ctx="$$(mktemp -d)"; trap 'rm -rf "$$ctx"' EXIT; \
	mkdir -p "$$ctx/rootfs/etc/ssl/certs" "$$ctx/rootfs/tmp" "$$ctx/volume/data"; \
	cp -R image/rootfs/. "$$ctx/rootfs/"; \
	cp "$(CA_BUNDLE)" "$$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"; \
	chmod 1777 "$$ctx/rootfs/tmp"; chmod 0700 "$$ctx/volume/data"; \
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -trimpath -ldflags='-s -w' -o "$$ctx/wharf" ./cmd/wharf; \
	$(BUILDAH) bud --isolation=chroot --format docker --pull=never -f Containerfile -t "$(IMAGE)" "$$ctx"

# The small-request benchmark (scripts/smallreq): wharf, Distribution and a
# static handler in one run, server CPU per request.
bench-small: build
	@set -euo pipefail; \
	./scripts/install-test-tools.sh --with-references --no-apt >&2; \
	tools="$$(./scripts/install-test-tools.sh --print-bin)"; \
	$(GO) run ./scripts/smallreq -wharf ./wharf -distribution "$$tools/distribution-registry" -c 1,8
