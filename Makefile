# wharf: `make run` starts a server on embedded defaults; `make test` runs
# the whole suite on SQLite and PostgreSQL, filesystem and S3 (starting
# PostgreSQL and a local SeaweedFS S3 server if needed, installing the
# registry clients the end-to-end tests drive).
SHELL := /bin/bash
GO ?= go

.PHONY: build run test bench

build:
	$(GO) build -o wharf ./cmd/wharf

run:
	$(GO) run ./cmd/wharf serve

test:
	@set -euo pipefail; \
	export PATH="$$(./scripts/test-tools.sh):$$PATH"; \
	export WHARF_TEST_POSTGRES="$$(./scripts/test-postgres.sh)"; \
	export WHARF_TEST_S3="$$(./scripts/test-s3.sh)"; \
	echo "PostgreSQL suite: $$WHARF_TEST_POSTGRES; S3 suite: …@$${WHARF_TEST_S3#*@}"; \
	test -z "$$(gofmt -l .)" || { echo "gofmt -l lists unformatted files:"; gofmt -l .; exit 1; }; \
	$(GO) vet ./...; \
	$(GO) test -count=1 -timeout 20m ./...

bench:
	@set -euo pipefail; \
	export WHARF_TEST_POSTGRES="$$(./scripts/test-postgres.sh)"; \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...
