"""A webhook receiver process for the alert tests: records every request it gets as a JSON line
(``path``, ``headers``, ``body``) and answers 503 to the first FAILS of them, 200 afterwards.

    python -m tests.alerts.receiver PORT LOG FAILS
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    port, log, fails = int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            record = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                      "body": body.decode()}  # fmt: skip
            with log.open("a") as out:
                out.write(json.dumps(record) + "\n")
            seen[0] += 1
            self.send_response(503 if seen[0] <= fails else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
