#!/usr/bin/env python3
"""A small webhook receiver to try Hookline's tools with: it answers the five example tools,
verifies every request's Standard Webhooks signature, and skips repeated webhook-ids.

    HOOKLINE_SIGNING_SECRET=whsec_... python3 examples/receiver.py 3000

(examples/walkthrough.sh starts it this way with its organization's secret.) Without a secret it
shows requests unchecked and says so on each line.

Point a tool at it in development mode, e.g. "url": "http://localhost:3000/orders/status".
Only the Python standard library is used.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SECRETS = [s for s in os.environ.get("HOOKLINE_SIGNING_SECRET", "").split() if s]
SEEN = set()


def verify(headers, body: bytes) -> bool:
    """True when some signature matches some secret and the timestamp is fresh."""
    if not SECRETS:
        return True  # no secret given: show requests without checking
    msg_id, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    if abs(time.time() - int(ts)) > 300:
        return False
    for secret in SECRETS:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(mac).decode()
        if any(hmac.compare_digest(expected, s) for s in headers.get("webhook-signature", "").split()):
            return True
    return False


def answer(method: str, path: str, args: dict):
    """What each example tool's endpoint says."""
    if path.endswith("/orders/status"):
        return 200, {"orderId": args.get("orderId"), "status": "shipped", "carrier": "UPS",
                     "trackingNumber": "1Z999AA10123456784", "estimatedDelivery": "2024-03-15"}
    if path.endswith("/tickets"):
        return 201, {"ticketId": 789, "subject": args.get("subject"), "priority": args.get("priority", "normal")}
    if path.endswith("/sobjects/Contact"):
        return 204, None
    if path.endswith("/weather"):
        return 200, {"city": args.get("city"), "temperature": 21, "units": args.get("units", "metric"),
                     "conditions": "clear"}
    # The split pattern: a job started at once, its status asked for later.
    if path.endswith("/reports/start"):
        return 200, {"jobId": "job_123", "estimatedTime": "30 seconds"}
    if path.endswith("/reports/status"):
        return 200, {"jobId": args.get("jobId"), "status": "COMPLETE",
                     "url": "https://reports.example.com/job_123.pdf"}
    if path.endswith("/inventory/check"):
        return 200, {"productId": args.get("productId"), "inStock": True, "quantity": 12}
    return 404, {"error": True, "message": f"nothing at {method} {path}"}


class Handler(BaseHTTPRequestHandler):
    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if not verify(self.headers, body):
            print(f"{self.command} {self.path} REFUSED: the signature does not verify")
            return self.reply(401, {"error": True, "message": "bad signature"})
        checked = "signature verified" if SECRETS else "signature NOT checked (no secret given)"
        call_id = self.headers.get("webhook-id")
        repeat = call_id in SEEN
        SEEN.add(call_id)
        url = urlparse(self.path)
        args = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()}
        if body:
            args.update(json.loads(body))
        print(f"{self.command} {self.path} {checked} webhook-id={call_id}{' (repeat, skipped)' if repeat else ''} {args}")
        status, payload = answer(self.command, url.path, args)
        self.reply(status, payload)

    def reply(self, status, payload):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    print(f"listening on http://127.0.0.1:{port}")
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
