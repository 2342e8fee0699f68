# Thin front door: every real rule lives in CMake, ctest and pytest.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
ADDRESS    ?= 127.0.0.1
PORT       ?= 8888
FUZZ_SECONDS ?= 60
PYTEST     ?= /usr/bin/python3 -m pytest

.PHONY: all deps build asan run test test-valgrind unit integration clean

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

# The integration suite with every server and client under memcheck.
test-valgrind: build
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) CHATROOM_VALGRIND=1 $(PYTEST) -q -m "not slow_under_asan" tests/integration

unit: build
	ctest --test-dir $(BUILD) --output-on-failure

integration: build
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q tests/integration

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
