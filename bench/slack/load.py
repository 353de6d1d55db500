#!/usr/bin/env python3
"""Open-loop load client for `POST /slack/commands`: signed slash commands (`declare` and `update`) at a
fixed rate over keep-alive HTTP/1.1 connections, standard library only.

Request i is due at start + i/rate. Latency is counted from when a request was due, not from when it was
sent, so a daemon that falls behind shows it in the percentiles (no coordinated omission). The run is
bounded by --duration; requests still queued at the end are counted as missed.

    load.py --url http://127.0.0.1:8080 --secret S --rate 1000 --duration 20 --connections 32
"""
import argparse
import asyncio
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import quote, urlsplit


def form(fields):
    return "&".join("%s=%s" % (quote(k, safe=""), quote(v, safe="")) for k, v in fields)


def slash_body(text, user, channel):
    return form([
        ("token", "bench"), ("team_id", "T0BENCH"), ("team_domain", "bench"), ("channel_id", channel),
        ("channel_name", "bench"), ("user_id", user), ("user_name", user.lower()), ("command", "/incident"),
        ("text", text), ("response_url", "https://hooks.slack.invalid/commands/bench"),
        ("trigger_id", uuid.uuid4().hex), ("api_app_id", "A0BENCH"),
    ]).encode()


def signed_request(host, secret, body):
    timestamp = str(int(time.time()))
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    head = (
        "POST /slack/commands HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "X-Slack-Request-Timestamp: %s\r\nX-Slack-Signature: v0=%s\r\nContent-Length: %d\r\n\r\n"
        % (host, timestamp, digest, len(body))
    )
    return head.encode() + body


async def read_response(reader):
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


class Run:
    def __init__(self, args):
        self.args = args
        self.secret = args.secret.encode()
        split = urlsplit(args.url)
        self.host, self.port = split.hostname, split.port or 80
        self.latencies = []
        self.errors = 0
        self.missed = 0
        self.sent = 0

    def command(self, i):
        if self.args.mix == "help":
            # Verification, parsing and the answer, without the store: separates Slack's share of the cost.
            return "help ack", "U0BOB"
        # One declare for every `updates` updates of one of the seeded incidents.
        if i % (self.args.updates + 1) == 0:
            return "declare sev3 Bench incident %d" % i, "U0ALICE"
        incident = 1 + (i * 7919) % self.args.seeded
        return "update INC-%d bench update %d" % (incident, i), "U0BOB"

    async def connection(self, number, start, total, stop_at):
        reader, writer = await asyncio.open_connection(self.host, self.port)
        i = number
        try:
            while i < total:
                due = start + i / self.args.rate
                now = time.perf_counter()
                if now > stop_at:
                    self.missed += len(range(i, total, self.args.connections))
                    break
                if due > now:
                    await asyncio.sleep(due - now)
                text, user = self.command(i)
                writer.write(signed_request(self.host, self.secret, slash_body(text, user, "C0BENCH")))
                await writer.drain()
                self.sent += 1
                try:
                    status, body = await read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    self.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    i += self.args.connections
                    continue
                self.latencies.append(time.perf_counter() - due)
                # Slack shows whatever a 200 carries; an error status or a failed save is a failure.
                if status != 200 or "could not save".encode() in body:
                    self.errors += 1
                i += self.args.connections
        finally:
            writer.close()

    async def run(self, total, grace):
        start = time.perf_counter() + 0.2
        stop_at = start + total / self.args.rate + grace
        await asyncio.gather(*(self.connection(n, start, total, stop_at) for n in range(self.args.connections)))
        return time.perf_counter() - start


async def seed(args):
    """Declares `--seeded` incidents one at a time, so updates have something to update."""
    reader, writer = await asyncio.open_connection(urlsplit(args.url).hostname, urlsplit(args.url).port or 80)
    for n in range(args.seeded):
        body = slash_body("declare sev3 Seed incident %d" % n, "U0ALICE", "C0BENCH")
        writer.write(signed_request(urlsplit(args.url).hostname, args.secret.encode(), body))
        await writer.drain()
        status, answer = await read_response(reader)
        if status != 200 or b"Declared" not in answer:
            raise SystemExit("seeding failed: %d %s" % (status, answer[:200]))
    writer.close()


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--rate", type=float, default=1000, help="requests per second (default 1000)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load (default 20)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--updates", type=int, default=3, help="updates per declare (default 3)")
    parser.add_argument("--seeded", type=int, default=200, help="incidents declared before the run")
    parser.add_argument("--mix", choices=["commands", "help"], default="commands",
                        help="commands: declare and update (default); help: `help ack` only, nothing stored")
    args = parser.parse_args()

    asyncio.run(seed(args))
    total = int(args.rate * args.duration)
    run = Run(args)
    elapsed = asyncio.run(run.run(total, grace=5))
    latencies = sorted(run.latencies)
    ms = lambda seconds: seconds * 1000
    report = {
        "target_rate": args.rate,
        "requests": len(latencies),
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "errors": run.errors,
        "missed": run.missed,
        "p50_ms": round(ms(percentile(latencies, 0.50)), 2),
        "p90_ms": round(ms(percentile(latencies, 0.90)), 2),
        "p99_ms": round(ms(percentile(latencies, 0.99)), 2),
        "max_ms": round(ms(latencies[-1]), 2) if latencies else None,
    }
    print("requests/s: %(achieved_rate)s (target %(target_rate)s), %(requests)d answered, %(errors)d errors, %(missed)d missed" % report)
    print("latency from due time: p50 %(p50_ms)s ms, p90 %(p90_ms)s ms, p99 %(p99_ms)s ms, max %(max_ms)s ms" % report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
