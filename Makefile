# Thin front door: every real rule lives in CMake, ctest and pytest.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
ADDRESS    ?= 127.0.0.1
PORT       ?= 8888
# make run TLS=1: a TLS port too, with a self-signed certificate made in
# the build directory (scripts/tls-selfsigned.sh).
TLS        ?=
TLS_PORT   ?= 8443
RUN_TLS     = $(if $(filter 1 yes,$(TLS)),--tls-cert $(BUILD)/tls/cert.pem --tls-key $(BUILD)/tls/key.pem --tls-port $(TLS_PORT))
FUZZ_SECONDS ?= 60
PYTEST     ?= /usr/bin/python3 -m pytest
# Integration tests in parallel processes (pytest-xdist): most of their time
# is spent waiting on sockets and timers, so three workers fit two cores.
TEST_WORKERS ?= 3
PREFIX     ?= /usr/local
DEB_BUILD  ?= build-deb
LINTIAN    ?= lintian --fail-on error,warning

.PHONY: all deps deps-test deps-package build asan run test test-valgrind fuzz fuzz-build unit integration bench \
	install uninstall deb clean

all: build

# What building and running need, and nothing more (make run, make build).
deps:
	@bash scripts/deps.sh

# What the tests need besides: pytest, tmux, nc, clang, valgrind.
deps-test:
	@bash scripts/deps.sh test

# What building and checking the Debian packages needs besides.
deps-package:
	@bash scripts/deps.sh package

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCHATROOM_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@echo "chatroom-server on $(ADDRESS):$(PORT). In another terminal connect with:"
	@echo "    ./$(BUILD)/chatroom -a $(ADDRESS) -p $(PORT)"
	@echo "or with a plain text client:  nc $(ADDRESS) $(PORT)   (first line: Hello|yourname)"
	@if [ -n "$(RUN_TLS)" ]; then bash scripts/tls-selfsigned.sh $(BUILD)/tls $(ADDRESS) && \
	  echo "TLS on $(ADDRESS):$(TLS_PORT), self-signed ($(BUILD)/tls/cert.pem):" && \
	  echo "    ./$(BUILD)/chatroom --tls -a $(ADDRESS) -p $(TLS_PORT) --ca $(BUILD)/tls/cert.pem" && \
	  echo "or without --ca: its key is shown and remembered on your yes, like ssh;" && \
	  echo "or as text:  openssl s_client -quiet -connect $(ADDRESS):$(TLS_PORT)" && \
	  echo "or in a browser:  https://$(ADDRESS):$(TLS_PORT)/ (self-signed: the browser asks)"; \
	else echo "(make run TLS=1: a TLS port too, with a self-signed certificate)"; fi
	@echo "or in a browser:  http://$(ADDRESS):$(PORT)/"
	@echo "Stop the server with Ctrl+C."
	@CHATROOM_WEB_ROOT=$(CURDIR)/web $(strip ./$(BUILD)/chatroom-server -a $(ADDRESS) -p $(PORT) $(RUN_TLS))

# Unit tests and the integration suite on the normal build, then both again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
test: deps-test build asan deps-package
	ctest --test-dir $(BUILD) --output-on-failure
	ctest --test-dir $(ASAN_BUILD) --output-on-failure
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q -n $(TEST_WORKERS) tests/integration
	CHATROOM_BUILD=$(CURDIR)/$(ASAN_BUILD) CHATROOM_SANITIZED=1 $(PYTEST) -q -n $(TEST_WORKERS) -m "not slow_under_asan" tests/integration
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15

# libFuzzer targets (clang, ASan+UBSan) on their seed corpora; new inputs
# go to $(FUZZ_BUILD)/corpus-*, the committed seeds stay as they are.
fuzz-build: deps-test
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHATROOM_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_wire fuzz_textproto fuzz_image fuzz_redis fuzz_json

fuzz: fuzz-build
	@for t in wire textproto image redis json; do \
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
test-valgrind: deps-test build
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) CHATROOM_VALGRIND=1 $(PYTEST) -q -m "not slow_under_asan" tests/integration

# chatroom-server against redis-server under the same load; writes
# docs/benchmarks.md and docs/bench-rtt.png (about 5 minutes).
bench: build
	@bash scripts/deps.sh bench
	@BUILD=$(BUILD) bash scripts/bench.sh

unit: deps-test build
	ctest --test-dir $(BUILD) --output-on-failure

integration: deps-test build
	CHATROOM_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q tests/integration

# Into $(PREFIX) (default /usr/local), under $(DESTDIR) when given; the
# client looks for its catalogues under the prefix it was built for.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# Removes what the last `make install` from $(BUILD) put in place (CMake's
# manifest lists it; give the same DESTDIR), then the directories that are
# chatroom's alone once they are empty.
uninstall:
	@test -f $(BUILD)/install_manifest.txt || \
	  { echo "make uninstall: no $(BUILD)/install_manifest.txt: nothing installed from $(BUILD)"; exit 1; }
	@sed 's,^,$(DESTDIR),' $(BUILD)/install_manifest.txt | xargs -d '\n' rm -vf --
	@sed -n 's,/\(libexec/chatroom\|share/doc/chatroom\|share/chatroom\|etc/chatroom\)/.*,/\1,p' \
	  $(BUILD)/install_manifest.txt | sort -u | while IFS= read -r d; do \
	  find "$(DESTDIR)$$d" -depth -type d -empty -delete 2>/dev/null || true; done
	@rm -f $(BUILD)/install_manifest.txt

# The Debian packages chatroom and chatroom-server, built from a copy of the
# working tree (committed or not, without build directories) into
# $(DEB_BUILD)/, then checked by lintian.
deb: deps-package
	@git rev-parse --git-dir >/dev/null 2>&1 || { echo "make deb: copies the tree with git ls-files: needs a git checkout"; exit 1; }
	@rm -rf $(DEB_BUILD) && mkdir -p $(DEB_BUILD)/chatroom
	@git ls-files -z -c -o --exclude-standard | \
	  tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C $(DEB_BUILD)/chatroom -xf -
	@cd $(DEB_BUILD)/chatroom && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(JOBS)" \
	  dpkg-buildpackage -us -uc -b > ../dpkg-buildpackage.log 2>&1 || \
	  { tail -40 ../dpkg-buildpackage.log; echo "dpkg-buildpackage failed: $(DEB_BUILD)/dpkg-buildpackage.log"; exit 1; }
	@ls $(DEB_BUILD)/*.deb
	$(LINTIAN) $(DEB_BUILD)/*.changes

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
