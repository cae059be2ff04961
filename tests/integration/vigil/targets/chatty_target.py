"""A target that talks a lot: answers /health, writes 2 MB of numbered lines, then one more.

Run as ``python chatty_target.py PORT``. Lines are ``line NNNNNN xxx...`` (100 bytes with the
newline) on stdout, then ``last line, on stderr``; then it serves /health until stopped.
"""

from __future__ import annotations

import http.server
import sys
import threading

LINES = 20_000
LAST = "last line, on stderr"


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for n in range(LINES):
        print(f"line {n:06d} " + "x" * 88)
    sys.stdout.flush()
    print(LAST, file=sys.stderr, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
