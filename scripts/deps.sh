#!/usr/bin/env bash
# Installs the Debian packages chatroom needs, and only those that are
# missing, so running it twice costs nothing. By group:
#   deps.sh           building and running (make build, make run)
#   deps.sh test      that, and what the tests need besides (make test)
#   deps.sh bench     that, and what make bench needs besides
#   deps.sh package   that, and what make deb and the package test need
# DEPS_LIST=1 prints a group's packages instead of installing them.
set -euo pipefail

group="${1:-}"
case "$group" in
  ""|test|bench|package) ;;
  *) echo "deps.sh: unknown group '$group' (none, test, bench or package)" >&2; exit 2 ;;
esac

# Building and running: the CMake configure needs every one of these (the
# unit tests and the picture tool are part of the build tree).
packages=(
  build-essential cmake pkg-config
  libuv1-dev            # the event loop of every program
  libcurl4-openssl-dev  # Part I demos: HTTP, sync and on the libuv loop
  libinih-dev           # KEY=VALUE config files
  libcjson-dev          # JSON: the history file
  libutf8proc-dev       # Unicode: look-alike pseudos, text widths
  libicu-dev            # ICU's spoof checker: TR39 confusables, mixed scripts in names
  gettext               # msgfmt: the client's French and English catalogues
  libc-l10n             # the C library's own words (strerror) in French too
  scdoc                 # the manual pages (man/*.scd)
  libncurses-dev        # the client's full-screen interface (ncursesw)
  libspng-dev           # pictures: PNG decoded row by row, within limits (no zlib bomb)
  libjpeg62-turbo-dev   # pictures: JPEG decoded scaled, scans and memory bounded
  zlib1g-dev            # the picture unit test makes its PNGs with zlib
  libstb-dev            # the tests write pictures with stb_image_write
  libchafa-dev libglib2.0-dev  # pictures drawn as terminal cells (chafa needs glib)
  libcmocka-dev         # unit tests (built with the rest)
  libhiredis-dev        # Redis: replies read and commands formatted (cluster, issue 19)
  libssl-dev            # OpenSSL 3: the server's TLS port, the client's --tls
  openssl               # make run TLS=1 makes a self-signed certificate with it
  libwebsockets-dev     # the web client: HTTP and WebSocket on our loop (src/server/web.c)
  libwebsockets-evlib-uv  # ... its libuv support, a plugin loaded at run time
  liburing-dev          # io_uring (IO_URING): a loop turn's sends in one system call (uring_send.c)
)
# `deps.sh test` (make test): the tools the tests run.
test_packages=(
  python3-pytest        # integration tests (Debian's python3)
  python3-pytest-xdist  # ... in parallel workers (make test's -n)
  python3-cryptography  # the TLS tests make their CA and certificates
  redis-server          # a real Redis for the cluster modules' tests
  clang libclang-rt-14-dev  # libFuzzer targets
  netcat-openbsd tmux   # nc-style and terminal tests
  valgrind              # make test-valgrind
  chromium              # the web client's end-to-end tests (no browser download)
  nodejs                # ... their driver, playwright-core (tests/web, from npm)
)
if [ "$group" = test ] || [ "$group" = package ]; then
  packages+=("${test_packages[@]}")
fi
# `deps.sh bench`: what make bench needs besides.
if [ "$group" = bench ]; then
  packages+=(
    redis-server          # the pub/sub server chatroom is measured against
    gnuplot-nox           # the chart in docs/benchmarks.md
    linux-perf strace     # profiles and system call counts (scripts/bench_notes.md)
  )
fi
# `deps.sh package`: what make deb and the package test (make test) need
# besides (dpkg-dev comes with build-essential).
if [ "$group" = package ]; then
  packages+=(
    debhelper             # dh: debian/rules
    lintian               # the packages must pass it
    strace                # the system calls the installed server makes
    logrotate             # its snippet is checked
    man-db groff-base     # man -l renders every page
  )
fi

# DEPS_LIST=1: only print the group's packages, one a line.
if [ "${DEPS_LIST:-}" = 1 ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The browser tests' driver: playwright-core from npm, at the version the
# committed lock file names, into tests/web/node_modules (ignored by git).
web_tests() {
  if [ "$group" = test ] || [ "$group" = package ]; then
    local dir
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/web"
    if [ ! -d "$dir/node_modules/playwright-core" ]; then
      if ! command -v npm >/dev/null; then
        $sudo apt-get install -y -qq --no-install-recommends npm
      fi
      echo "deps: npm ci in tests/web (playwright-core)"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
}

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

if [ ${#missing[@]} -eq 0 ]; then
  web_tests
  exit 0
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
web_tests
