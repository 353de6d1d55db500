#!/usr/bin/env python3
"""Pre-signs distinct `/incident` slash commands for one benchmark round, as Slack would send them: each with
its own `trigger_id`, the current X-Slack-Request-Timestamp and a v0 HMAC-SHA256 signature over
`v0:{timestamp}:{body}`. The requests are written whole (head and body), each as `<length>\\n<bytes>`, for
slash.lua to load; both Klaxon and Bolt get requests made this way, signed with the same secret.

    sign.py --secret S --scenario note|declare|mix --count N --round R --out FILE
    sign.py --secret S --seed N --url http://127.0.0.1:PORT     # declare INC-1 … INC-N first (Klaxon only)

The form bodies and the signing are bench/slack/load.py's, imported rather than repeated.
"""
import argparse
import asyncio
import os
import random
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slack"))
from load import seed, signed_request, slash_body  # noqa: E402


def command(scenario, round_id, i, rng, incidents):
    """The text and sender of request i of a round."""
    if scenario == "note":
        # Every note on the one incident, as responders typing into its channel at once.
        return "note INC-1 bench note %s-%d" % (round_id, i), "U0BOB"
    if scenario == "declare":
        return "declare sev3 Bench incident %s-%d" % (round_id, i), "U0ALICE"
    # mix: one declare for every three updates of one of the seeded incidents.
    if i % 4 == 0:
        return "declare sev3 Bench incident %s-%d" % (round_id, i), "U0ALICE"
    return "update INC-%d bench update %s-%d" % (rng.randint(1, incidents), round_id, i), "U0BOB"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--scenario", choices=["note", "declare", "mix"])
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--round", default="r0", help="tag written into each command's text")
    parser.add_argument("--incidents", type=int, default=200, help="mix: updates go to INC-1 … INC-this")
    parser.add_argument("--out")
    parser.add_argument("--seed", type=int, default=0, help="declare this many incidents at --url, then exit")
    parser.add_argument("--url")
    args = parser.parse_args()

    if args.seed:
        asyncio.run(seed(SimpleNamespace(url=args.url, secret=args.secret, seeded=args.seed)))
        return
    rng = random.Random(args.round)
    secret = args.secret.encode()
    with open(args.out, "wb") as out:
        for i in range(args.count):
            text, user = command(args.scenario, args.round, i, rng, args.incidents)
            request = signed_request("127.0.0.1", secret, slash_body(text, user, "C0BENCH"))
            out.write(b"%d\n" % len(request))
            out.write(request)


if __name__ == "__main__":
    main()
