#!/usr/bin/env python3
"""Sends N signed `/incident` slash commands to a Klaxon and checks every reply, for bench/profile/run.sh:
closed loop over a few keep-alive connections, each request built and signed as it is sent (so a slow,
instrumented daemon never sees a stale timestamp). Exits non-zero unless every reply says the command took
effect.

    send.py --url http://127.0.0.1:PORT --secret S --kind note|declare --count N [--connections C] [--tag T]
"""
import argparse
import asyncio
import os
import sys
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slack"))
from load import read_response, signed_request, slash_body  # noqa: E402

# What IncidentEngine answers when the command took effect.
TOOK_EFFECT = {"note": b"Noted in the timeline of INC-", "declare": b"Declared INC-"}


def command(kind, tag, i):
    if kind == "note":
        return "note INC-1 profile note %s-%d" % (tag, i), "U0BOB"
    return "declare sev3 Profile incident %s-%d" % (tag, i), "U0ALICE"


async def connection(args, numbers, failures):
    split = urlsplit(args.url)
    reader, writer = await asyncio.open_connection(split.hostname, split.port)
    try:
        for i in numbers:
            text, user = command(args.kind, args.tag, i)
            writer.write(signed_request(split.hostname, args.secret.encode(), slash_body(text, user, "C0BENCH")))
            await writer.drain()
            status, body = await read_response(reader)
            if status != 200 or TOOK_EFFECT[args.kind] not in body:
                failures.append((status, body[:200]))
    finally:
        writer.close()


async def run(args):
    failures = []
    await asyncio.gather(*(connection(args, range(c, args.count, args.connections), failures)
                           for c in range(args.connections)))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--kind", choices=sorted(TOOK_EFFECT), required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--tag", default="p")
    args = parser.parse_args()
    failures = asyncio.run(run(args))
    if failures:
        raise SystemExit("%d of %d replies did not take effect, e.g. %s" % (len(failures), args.count, failures[0]))


if __name__ == "__main__":
    main()
