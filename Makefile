# Every target is a command you could type yourself.
GO ?= go
export GOTOOLCHAIN := local

.PHONY: build test lint fuzz run

build:
	$(GO) build -o bin/mcpsoc ./cmd/mcpsoc

# Installs the test peers, starts services, runs vet and all tests.
test:
	scripts/test.sh

lint:
	gofmt -l cmd internal
	$(GO) vet ./...

# Runs every fuzz target for FUZZTIME each (default 10s).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

run:
	$(GO) run ./cmd/mcpsoc serve
