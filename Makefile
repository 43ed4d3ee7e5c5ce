# caudal: an object-storage-backed Kafka service.
GO       ?= go
CACHE    ?= $(HOME)/.cache/caudal
export CAUDAL_CACHE := $(CACHE)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test bench lint setup fuzz

## run: build and start caudal dev (SQLite + ./data) on localhost:9092
run: build
	./bin/caudal dev

build:
	$(GO) build -o bin/caudal ./cmd/caudal

## setup: install the tests' servers and clients (PostgreSQL, kcat, confluent_kafka, MinIO)
setup:
	./test/setup.sh

## test: every test against real MinIO and PostgreSQL, plus short fuzzing runs
test: setup
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

# FUZZTIME bounds each fuzz target in `make test`; raise it for a long local run.
FUZZTIME ?= 10s
fuzz:
	@for target in $$($(GO) test -list '^Fuzz' ./segments/ | grep '^Fuzz'); do \
		echo "fuzz segments $$target"; \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) ./segments/ || exit 1; \
	done

## bench: storage and produce benchmarks against MinIO + PostgreSQL
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 20x -timeout 30m ./test/bench/

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
