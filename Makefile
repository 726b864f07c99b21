# gatekeeper — the two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
GATEKEEPER_ARGS ?=

# Debian 12 packages needed to build and run; the tests need a few more. Only missing ones are installed.
BUILD_PACKAGES := build-essential cmake ninja-build pkg-config git ca-certificates curl openssl \
  libboost1.81-dev libboost-system1.81-dev libssl-dev libre2-dev libyaml-cpp-dev nlohmann-json3-dev \
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev libpq-dev \
  libhyperscan-dev libcrypt-dev libpoppler-cpp-dev \
  zlib1g-dev libbrotli-dev libzstd-dev
TEST_PACKAGES := python3 python3-stdnum chromium libnss3-tools zstd brotli postgresql
BENCH_PACKAGES := mitmproxy squid-openssl python3-yaml openssl
BENCH_BUILD_DIR ?= build-rel
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps apt-install e2e-deps build test run bench bench-components clean
all: build

deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(BUILD_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_PACKAGES)" NEED_NODE=1

apt-install:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$(NEED_NODE)" ]; then command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs npm"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# npm packages of the end-to-end tests, pinned by tests/e2e/package-lock.json.
e2e-deps: test-deps
	@cd tests/e2e && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }

test: build e2e-deps
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

run: build
	@$(BUILD_DIR)/gatekeeper run $(GATEKEEPER_ARGS)

# Side-by-side comparison with mitmproxy and Squid ssl-bump (about 10 minutes): installs the peers,
# builds Release in $(BENCH_BUILD_DIR) and rewrites the generated section of docs/benchmarks.md.
# BENCH_ARGS passes options to bench/compare.py (e.g. BENCH_ARGS="--configs direct,gatekeeper").
bench: deps
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(BENCH_PACKAGES)"
	@cmake -S . -B $(BENCH_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DGATEKEEPER_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(BENCH_BUILD_DIR) -j $(JOBS) --target gatekeeper ai_upstream load_client scanner_bench tls_bench
	@/usr/bin/python3 bench/compare.py --build-dir $(BENCH_BUILD_DIR) $(BENCH_ARGS)

# Every Google Benchmark program of bench/, one after the other.
bench-components: build
	@for b in $(BUILD_DIR)/bench/*_bench; do echo "== $$b"; $$b; done

clean:
	@rm -rf $(BUILD_DIR) $(BENCH_BUILD_DIR)
