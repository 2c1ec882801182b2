# The two set-up commands are `make run` and `make test`; see README.md.
JOBS := $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build build-asan run test bench deps-build deps-test deps-bench format clean

all: build

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

build-asan:
	cmake -S . -B build-asan -DTOPUP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j$(JOBS)

deps-build:
	scripts/deps.sh build

deps-test:
	scripts/deps.sh test

deps-bench:
	scripts/deps.sh bench

# Installs what is missing, builds, creates var/topup.db with demo data and starts topupd.
run: deps-build
	$(MAKE) --no-print-directory build
	scripts/run.sh

# Installs what the tests need, builds a normal and an ASan+UBSan variant, runs every test.
test: deps-test
	$(MAKE) --no-print-directory build build-asan
	scripts/test.sh

# Benchmarks; never part of `make test`.
bench: deps-bench
	$(MAKE) --no-print-directory build
	bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
