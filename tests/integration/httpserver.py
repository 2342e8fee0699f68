"""A local HTTP server for the Part I demos: no internet here, so pages
with known content and a chosen delay. `python3 httpserver.py PORT` runs it
by hand (README)."""

import http.server
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    """/page/NAME?delay=MS -> "contenu de NAME" after MS ms; /status/CODE."""

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        time.sleep(int(query.get("delay", ["0"])[0]) / 1000)
        parts = url.path.strip("/").split("/")
        if parts[0] == "status":
            self.send_response(int(parts[1]))
            self.end_headers()
            self.wfile.write(b"error page\n")
            return
        body = f"contenu de {'/'.join(parts[1:])}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # The default backlog of 5 drops the SYNs of a burst of downloads,
    # which then wait a second for their retransmission.
    request_queue_size = 128
    daemon_threads = True


def start(port=0):
    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    srv = start(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    print(f"serving on http://127.0.0.1:{srv.server_address[1]}/page/NAME?delay=MS")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
