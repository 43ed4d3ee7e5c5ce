# caudal: an object-storage-backed Kafka service.
GO       ?= go
CACHE    ?= $(HOME)/.cache/caudal
export CAUDAL_CACHE := $(CACHE)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test bench lint setup fuzz cluster cluster-stop

## run: build and start caudal dev (SQLite + ./data) on localhost:9092
run: build
	./bin/caudal dev

build:
	$(GO) build -o bin/caudal ./cmd/caudal

## cluster: MinIO, PostgreSQL, three gateways and a worker as local processes
cluster: build setup
	./deploy/cluster.sh

cluster-stop:
	./deploy/cluster.sh stop

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
FUZZPKGS := ./segments/ ./gateway/
fuzz:
	@for pkg in $(FUZZPKGS); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## bench: storage and produce benchmarks against MinIO + PostgreSQL
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 20x -timeout 30m ./test/bench/

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
