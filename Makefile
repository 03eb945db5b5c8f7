# flopcast: make run (measure this machine), make test (what CI runs).
GO       ?= go
BIN      := bin/flopcast
VERSION  ?= 0.1.0-dev
# A build from a tree with uncommitted changes says so in every results
# file it writes (tool.commit ends in -dirty).
COMMIT   := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
PKGS     := ./...

.PHONY: all build run test vet fmt check-fmt check-imports race fuzz fuzz-short bench bench-cpu clean help

all: test

help:
	@echo "build          build $(BIN)"
	@echo "run            run the standard suite on the best device found"
	@echo "test           gofmt, vet, import rules, go test -race"
	@echo "fuzz           every fuzzer (results files, shapes, HF configs, forecast flags, compare/show/report inputs), FUZZTIME=30s each"
	@echo "fuzz-short     every fuzzer for FUZZTIME_SHORT=5s each (CI)"
	@echo "bench          go test benchmarks"
	@echo "bench-cpu      fp32 2048 GEMM against a C cblas_sgemm peer, as a ratio"

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/flopcast

run: build
	./$(BIN) run --suite standard

test: check-fmt vet check-imports
	$(GO) test -race -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

check-fmt:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on: $$out"; exit 1; fi

# Imports point inward: cmd -> bench -> kernels/cuda. Nothing imports cmd;
# kernels and cuda import no bench package; bench's core sees hardware only
# through bench/backend.
check-imports:
	@$(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' $(PKGS) | awk ' \
	  { pkg=$$1; sub(":$$","",pkg) } \
	  / github.com\/flopcast\/flopcast\/cmd/ { print "forbidden: " pkg " imports cmd"; bad=1 } \
	  pkg ~ /\/(kernels|cuda)(\/|$$)/ && / github.com\/flopcast\/flopcast\/bench/ { print "forbidden: " pkg " imports bench"; bad=1 } \
	  pkg ~ /\/bench\/(stats|result|report|verify)$$/ && / github.com\/flopcast\/flopcast\/(bench\/backend|cuda)/ { print "forbidden: " pkg " imports a backend"; bad=1 } \
	  END { exit bad }'

# Every fuzzer: package and target. make fuzz runs each for FUZZTIME;
# make fuzz-short (CI) for FUZZTIME_SHORT each.
FUZZERS := ./bench/result:FuzzDecode ./kernels:FuzzParseShapes ./kernels:FuzzParseHFConfig \
           ./cmd/flopcast:FuzzForecastFlags ./cmd/flopcast:FuzzCompareFiles
FUZZTIME ?= 30s
FUZZTIME_SHORT ?= 5s
fuzz:
	@for f in $(FUZZERS); do \
	  echo "fuzz $${f#*:} ($(FUZZTIME))"; \
	  $(GO) test $${f%%:*} -run '^$$' -fuzz "^$${f#*:}$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s $(PKGS)

bench-cpu: build
	bench/peers/bench-cpu.sh 2048 5

clean:
	rm -rf bin

# GPU: build here what the device check runs on a lent GPU machine (no CUDA
# needed to build), then run the check there (carry bin/).
GPU_PKGS := ./cuda/driver ./cuda/blaslt ./cuda/nvrtc ./cuda/nvml ./cuda/nccl ./bench/backend/gpu

.PHONY: gpu-bundle device-check
# Stripped (-s -w): bin/ travels with the tree to the device machine,
# whose limit is 64 MiB in all.
gpu-bundle:
	$(GO) build -ldflags "$(LDFLAGS) -s -w" -o $(BIN) ./cmd/flopcast
	mkdir -p bin/gpu-tests
	for p in $(GPU_PKGS); do $(GO) test -c -ldflags "-s -w" -o bin/gpu-tests/$$(basename $$p).test $$p || exit 1; done

device-check:
	scripts/device-check.sh
