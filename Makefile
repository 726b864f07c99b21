# gatekeeper — the two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
GATEKEEPER_ARGS ?=

# Debian 12 packages needed to build and run; the tests need a few more. Only missing ones are installed.
BUILD_PACKAGES := build-essential cmake ninja-build pkg-config git ca-certificates curl openssl \
  libboost1.81-dev libboost-system1.81-dev libssl-dev libre2-dev libyaml-cpp-dev nlohmann-json3-dev \
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev libpq-dev \
  libhyperscan-dev libcrypt-dev
TEST_PACKAGES := python3 python3-stdnum chromium libnss3-tools postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps apt-install e2e-deps build test run bench clean
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

bench: build
	@for b in $(BUILD_DIR)/bench/*_bench; do echo "== $$b"; $$b; done

clean:
	@rm -rf $(BUILD_DIR)
