"""HEAD is HTTP too (`curl -I`): on the chat port it is answered like the
GET of the same path, without the body; in clear on the TLS port it is
told to use https://, as a GET is. Before, the chat port took it for a
text peer's first line and never answered."""

import socket

from conftest import ROOT, TIMEOUT
from test_abuse import read_until_closed
from test_tls import ca, tls_server  # noqa: F401 (fixture)
from test_web import http_get, web  # noqa: F401 (fixture)


def test_head_is_answered_like_get_without_a_body(web):
    status, headers, body = http_get(web.port, "/", method="HEAD")
    assert " 200 " in status, status
    assert body == b""
    page = (ROOT / "web" / "index.html").read_bytes()
    assert int(headers["content-length"]) == len(page)
    assert "default-src 'none'" in headers["content-security-policy"]
    # (libwebsockets 4.1 sends its small error page even to a HEAD.)
    status, _, _ = http_get(web.port, "/nothing-here.html", method="HEAD")
    assert " 404 " in status, status
    # The chat goes on beside it.
    p = web.peer()
    p.join("nina")


def test_head_in_clear_on_the_tls_port_is_told_to_use_https(start_server, ca):
    srv = tls_server(start_server, ca)
    s = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT)
    s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = read_until_closed(s)
    s.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    srv.wait_log(r"refused: an HTTP request in clear \(use https://\)")
