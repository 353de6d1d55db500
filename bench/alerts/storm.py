#!/usr/bin/env python3
"""Alert storm client for `POST /alerts/alertmanager/<source>`: Alertmanager-shaped notifications, as fast as
the daemon answers, over keep-alive HTTP/1.1 connections (closed loop), standard library only.

Three phases, each over every group once, groups spread across the connections:
  fire     each group's first notification with all of its alerts firing (opens one incident per group);
  repeat   the same notification again (Alertmanager's repeat_interval): must change nothing;
  resolve  every alert of the group resolved (resolves the incident: the bench source has autoResolve).

Prints per phase: notifications/s, alerts/s (alerts carried), p50/p99/max answer time, and non-200 answers.

    storm.py --url http://127.0.0.1:8080 --token T --groups 2000 --alerts 100 --connections 32
"""
import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


def notification(group, alerts, status, start):
    items = []
    for n in range(alerts):
        items.append({
            "status": status,
            "labels": {"alertname": "Storm%d" % group, "service": "svc%d" % (group % 50), "instance": "host-%d" % n,
                       "severity": "critical" if group % 10 == 0 else "warning"},
            "annotations": {"summary": "Saturation on host-%d" % n},
            "startsAt": start,
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-07T12:00:00Z",
            "generatorURL": "http://prometheus.bench/graph?g0.expr=storm%d" % group,
            "fingerprint": "%08x%08x" % (group, n),
        })
    return json.dumps({
        "version": "4", "groupKey": "{}:{alertname=\"Storm%d\"}" % group, "status": status, "receiver": "klaxon",
        "groupLabels": {"alertname": "Storm%d" % group}, "commonLabels": {"alertname": "Storm%d" % group},
        "commonAnnotations": {}, "externalURL": "http://alertmanager.bench", "truncatedAlerts": 0, "alerts": items,
    }, separators=(",", ":")).encode()


async def connection(host, port, path, token, bodies, latencies, failures):
    reader, writer = await asyncio.open_connection(host, port)
    for body in bodies:
        head = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % (path, host, port, token, len(body))).encode()
        started = time.perf_counter()
        writer.write(head + body)
        await writer.drain()
        status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if b" 200 " not in status_line:
            failures.append(status_line.decode().strip())
    writer.close()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


async def phase(name, args, bodies_by_group):
    url = urlsplit(args.url)
    path = "/alerts/alertmanager/%s" % args.source
    shares = [bodies_by_group[i::args.connections] for i in range(args.connections)]
    latencies, failures = [], []
    started = time.perf_counter()
    await asyncio.gather(*(connection(url.hostname, url.port, path, args.token, share, latencies, failures) for share in shares if share))
    elapsed = time.perf_counter() - started
    count = len(bodies_by_group)
    print("%-8s %6d notifications in %6.2f s: %8.0f notifications/s, %9.0f alerts/s; answer p50 %6.1f ms, p99 %7.1f ms, max %7.1f ms; non-200: %d%s" % (
        name, count, elapsed, count / elapsed, count * args.alerts / elapsed, percentile(latencies, 0.5) * 1000,
        percentile(latencies, 0.99) * 1000, max(latencies) * 1000, len(failures), (" e.g. " + failures[0]) if failures else ""), flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--source", default="storm")
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    start = "2026-12-07T10:00:00Z"
    firing = [notification(g, args.alerts, "firing", start) for g in range(args.groups)]
    resolved = [notification(g, args.alerts, "resolved", start) for g in range(args.groups)]
    print("== %d groups × %d alerts = %d alerts; %d connections; body %d bytes" % (
        args.groups, args.alerts, args.groups * args.alerts, args.connections, len(firing[0])), flush=True)
    await phase("fire", args, firing)
    await phase("repeat", args, firing)
    await phase("resolve", args, resolved)


asyncio.run(main())
