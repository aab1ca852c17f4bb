"""The stack test's stand-in for the alert receiver: records every webhook POST as a JSON line.

    python3 tests/stack/webhook_sink.py --host 127.0.0.1 --port 9099 --out alerts.jsonl

Each line: {"path": ..., "body": <the JSON Alertmanager posted>}. Answers 200 to any POST.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9099)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"path": self.path, "body": body}) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    ThreadingHTTPServer((args.host, args.port), Sink).serve_forever()


if __name__ == "__main__":
    main()
