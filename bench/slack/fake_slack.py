#!/usr/bin/env python3
"""A minimal Slack Web API for the benchmark: answers every method Klaxon calls with `{"ok": true, ...}`
at once, so the daemon's outbox runs at full speed without reaching Slack. Not a test fake (that one is
Sources/KlaxonTestSupport/Fakes/FakeSlack.swift, strict like Slack and able to inject failures); this one
only has to be fast and quiet.

    fake_slack.py PORT
"""
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

numbers = itertools.count(1)
lock = threading.Lock()
calls = {}


def next_number():
    with lock:
        return next(numbers)


def answer(method, args):
    with lock:
        calls[method] = calls.get(method, 0) + 1
    channel = args.get("channel", "C0ANNOUNCE")
    if method == "chat.postMessage":
        return {"ok": True, "channel": channel if channel.startswith(("C", "D", "G")) else "C0ANNOUNCE",
                "ts": "1764000000.%06d" % next_number()}
    if method == "conversations.create":
        return {"ok": True, "channel": {"id": "C%07d" % next_number(), "name": args.get("name", "")}}
    if method == "conversations.open":
        return {"ok": True, "channel": {"id": "D" + args.get("users", "X")}}
    if method == "auth.test":
        return {"ok": True, "user_id": "UKLAXON", "bot_id": "BKLAXON"}
    if method in ("conversations.history", "conversations.replies", "pins.list"):
        return {"ok": True, "messages": [], "items": []}
    return {"ok": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AsyncHTTPClient expects

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        args = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
        method = self.path.rsplit("/", 1)[-1]
        payload = json.dumps(answer(method, args)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        # /stats: how many calls of each method, for the benchmark's report.
        with lock:
            payload = json.dumps(calls, sort_keys=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
