# openx400 - the two commands of the README and the developer's shortcuts.
#   make demo   build and run the main job (two MTAs on loopback exchanging messages)
#   make test   install what is missing, build with gcc and clang, run every test under
#               ASan+UBSan through ctest (unit, integration, tshark conformance, brief fuzzing)
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 10

.PHONY: all demo test deps build build-gcc build-test fuzz bench format clean

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOX_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS)

demo: build
	@./scripts/demo build

# gcc -O2 build of everything (warnings are errors; -O2 lets gcc see uninitialised uses),
# then the clang sanitizer build that runs the tests.
build-gcc: deps
	@cmake -S . -B build-gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-gcc -j $(JOBS)

build-test: deps
	@cmake -S . -B build-test -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	    -DOX_SANITIZE=ON -DOX_FUZZ=ON -DOX_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build build-test -j $(JOBS)

test: build-gcc build-test
	@cd build-test && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)

# Long fuzzing by hand: make fuzz FUZZ_SECONDS=600
fuzz: build-test
	@./scripts/fuzz build-test $(FUZZ_SECONDS)

# Benchmarks print figures and never fail on timing (docs/BENCH.md); BENCH_N messages for the
# two-daemon throughput run.
BENCH_N ?= 5000
bench: deps
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DOX_FUZZ=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS) --target x400mta tool_common_blast $$(cd bench && ls bench_*.c | sed 's/\.c$$//')
	@for b in build-bench/bench/bench_*; do [ -x "$$b" ] && echo "== $$b" && "$$b"; done
	@echo "== bench/mta_throughput.sh"; OX_BUILD=build-bench bench/mta_throughput.sh $(BENCH_N)

format:
	@git ls-files -co --exclude-standard '*.c' '*.h' | xargs -r clang-format -i

clean:
	rm -rf build build-gcc build-test build-bench
