# Thin front door: every real rule lives in CMake, ctest and pytest.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
ADDRESS    ?= 127.0.0.1
PORT       ?= 8888
FUZZ_SECONDS ?= 60
PYTEST     ?= /usr/bin/python3 -m pytest

.PHONY: all deps build asan run test test-valgrind fuzz fuzz-build unit integration bench clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCHATROOM_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@echo "chatroom-server on $(ADDRESS):$(PORT). In another terminal connect with:"
	@echo "    ./$(BUILD)/chatroom -a $(ADDRESS) -p $(PORT)"
	@echo "or with a plain text client:  nc $(ADDRESS) $(PORT)   (first line: Hello|yourname)"
	@echo "Stop the server with Ctrl+C."
	@./$(BUILD)/chatroom-server -a $(ADDRESS) -p $(PORT)

# Unit tests and the integration suite on the normal build, then both again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
test: build asan
	ctest --test-dir $(BUILD) --output-on-failure
	ctest --test-dir $(ASAN_BUILD) --output-on-failure
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q tests/integration
	CHATROOM_BUILD=$(CURDIR)/$(ASAN_BUILD) CHATROOM_SANITIZED=1 $(PYTEST) -q -m "not slow_under_asan" tests/integration
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15

# libFuzzer targets (clang, ASan+UBSan) on their seed corpora; new inputs
# go to $(FUZZ_BUILD)/corpus-*, the committed seeds stay as they are.
fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHATROOM_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_wire fuzz_textproto fuzz_image

fuzz: fuzz-build
	@for t in wire textproto image; do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	  echo "fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  if ! ./$(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus-$$t tests/fuzz/corpus/$$t \
	    > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1; then \
	    tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; echo "fuzz_$$t FOUND A CRASH"; exit 1; \
	  fi; \
	  grep -E "^stat::(number_of_executed_units|new_units_added)" $(FUZZ_BUILD)/fuzz_$$t.log; \
	done

# The integration suite with every server and client under memcheck.
test-valgrind: build
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) CHATROOM_VALGRIND=1 $(PYTEST) -q -m "not slow_under_asan" tests/integration

# chatroom-server against redis-server under the same load; writes
# docs/benchmarks.md and docs/bench-rtt.png (about 5 minutes).
bench: build
	@bash scripts/deps.sh bench
	@BUILD=$(BUILD) bash scripts/bench.sh

unit: build
	ctest --test-dir $(BUILD) --output-on-failure

integration: build
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q tests/integration

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
