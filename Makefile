# whitecross — common tasks. `make test` is what CI (.ci/run) runs.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X whitecross.Version=$(VERSION)

.PHONY: all build test vet run fmt clean

all: test build

## build: compile bin/whitecross (pure Go, no cgo)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/whitecross ./cmd/whitecross

## test: go vet, then every test with the race detector. PostgreSQL tests
## need WHITECROSS_TEST_POSTGRES_URL (and Redis tests WHITECROSS_TEST_REDIS_URL);
## without them they skip locally, and fail under CI.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

## run: start the server with demo data on http://localhost:8080
run:
	$(GO) run ./cmd/whitecross serve --demo

## fmt: gofmt every Go file
fmt:
	gofmt -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')

clean:
	rm -rf bin
