"""Security review M1: a write that libuv completes at once, then a close in
the same loop turn, made conn_free() call abort(). A preloaded shim makes
every other socket write fail with EAGAIN, which forces the sequence: the
write attempt is refused, the uv_write right after it completes at once,
the peer's FIN closes the conn, and the write's callback runs while the
handle closes, with frames still queued."""

import socket
import subprocess
import time

import pytest

import conftest
from conftest import TIMEOUT, VALGRIND
from security import Conversation, history_ask
from wire import WELCOME, BinaryPeer, hello, say

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned char flip[65536];

static int is_sock(int fd)
{
	struct stat st;
	return fd >= 0 && fd < 65536 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	if (!real)
		real = dlsym(RTLD_NEXT, "writev");
	if (is_sock(fd) && (flip[fd] ^= 1)) {
		errno = EAGAIN;
		return -1;
	}
	return real(fd, iov, n);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "write");
	if (is_sock(fd) && (flip[fd] ^= 1)) {
		errno = EAGAIN;
		return -1;
	}
	return real(fd, buf, len);
}
"""


@pytest.mark.skipif(VALGRIND, reason="valgrind does not take LD_PRELOAD shims this way")
def test_close_right_after_an_immediate_write_does_not_abort(tmp_path, monkeypatch):
    src = tmp_path / "eagain_shim.c"
    src.write_text(SHIM)
    shim = tmp_path / "eagain_shim.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(shim), str(src), "-ldl"], check=True)
    plain_env = conftest.child_env

    def shimmed_env():
        env = plain_env()
        env["LD_PRELOAD"] = str(shim)
        # The sanitizer runtime wants to be first; the shim only wraps libc.
        env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
        return env

    monkeypatch.setattr(conftest, "child_env", shimmed_env)
    srv = conftest.Server(tmp_path)
    monkeypatch.setattr(conftest, "child_env", plain_env)
    try:
        talk = Conversation(srv.port)
        writer = BinaryPeer(srv.port, timeout=TIMEOUT)
        writer.join("writer", "r")
        for i in range(90):  # more than the 64 buffers one write takes
            writer.send(say(f"m{i}"))
        time.sleep(0.3)
        for attempt in range(30):
            try:
                a = BinaryPeer(srv.port, timeout=TIMEOUT)
                a.send(hello(f"a{attempt}", "r"))
                a.until(WELCOME)
                a.send(history_ask("r", 1) * 3)  # ~270 frames queued for it
                a.sock.shutdown(socket.SHUT_WR)  # its FIN right behind
                a.closed()
                a.close()
            except OSError:
                time.sleep(0.5)  # the server's death shows below
            assert srv.proc.poll() is None, \
                f"server died ({srv.proc.poll()}) at attempt {attempt}:\n{srv.log()[-1500:]}"
        talk.assert_fluent(0.3)
        writer.close()
        talk.close()
    finally:
        code = srv.stop()
    assert code == 0, f"server exited {code}:\n{srv.log()[-3000:]}"
