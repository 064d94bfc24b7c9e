# rdbkit: the two entry points of README (`make demo`, `make test`) and helpers.
# Both install what is missing on Debian (apt) and build first.

SWIFT ?= swift
APT_PACKAGES_BUILD = liblzf-dev zlib1g-dev pkg-config
APT_PACKAGES_TEST = $(APT_PACKAGES_BUILD) redis-server redis-tools chromium python3-pip
# PyPI packages the tests use (redis-py drives `rdbkit serve` in RedisServeTests).
PIP_PACKAGES_TEST = redis
BIN_RELEASE = $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)

.PHONY: demo test deps-build deps-test build release fuzz bench clean

deps-build:
	@scripts/ensure-apt.sh $(APT_PACKAGES_BUILD)

deps-test:
	@scripts/ensure-apt.sh $(APT_PACKAGES_TEST)
	@scripts/ensure-pip.sh $(PIP_PACKAGES_TEST)
	@scripts/ensure-servers.sh

build: deps-build
	$(SWIFT) build

release: deps-build
	$(SWIFT) build -c release --product rdbkit

## demo: build rdbkit and show `info` and `json` on the sample files.
demo: release
	@for f in Samples/*.rdb; do \
	  echo "== rdbkit info $$f"; $(BIN_RELEASE)/rdbkit info $$f || exit $$?; \
	  echo "== rdbkit json $$f"; $(BIN_RELEASE)/rdbkit json $$f || exit $$?; \
	  echo; \
	done

## test: build and run every test; fails if no test ran.
test: deps-test
	scripts/run-tests.sh

## bench: the benchmark table of README (needs the 1 GB file, see Benchmarks/README.md).
bench: release
	Benchmarks/bench-rdb.sh

clean:
	rm -rf .build
