#!/usr/bin/env python3
"""Summarises bench/vs-bolt/run.sh's rounds: per scenario and side the mean of the saturated rounds, the
worst p99 of any round, refusals, Klaxon's goodput over Bolt's, and the rounds at half the saturated rate.

    summary.py RESULTS      # lines `scenario side kind round key=value …`, as run.sh writes them
"""
import sys
from collections import defaultdict

TARGETS = {"note": 3.0, "declare": 2.0}  # issue 11: Klaxon goodput at least this many times Bolt's acks


def parse(path):
    rounds = defaultdict(list)
    for line in open(path):
        scenario, side, kind, _, *pairs = line.split()
        values = dict(pair.split("=", 1) for pair in pairs)
        rounds[scenario, side, kind].append(
            {key: (value if key == "target" else float(value)) for key, value in values.items()})
    return rounds


def mean(rows, key):
    return sum(row[key] for row in rows) / len(rows)


def main():
    rounds = parse(sys.argv[1])
    scenarios = list(dict.fromkeys(scenario for scenario, _, _ in rounds))
    print("== summary (saturated: mean of the rounds; p99: the worst round)")
    print("%-8s %-6s %10s %10s %9s %9s %8s %8s" % ("scenario", "side", "requests/s", "goodput/s", "p50 ms", "p99 ms", "refused", "other"))
    for scenario in scenarios:
        for side in ("klaxon", "bolt"):
            rows = rounds[scenario, side, "saturated"]
            if not rows:
                continue
            print("%-8s %-6s %10.0f %10.0f %9.1f %9.1f %8d %8d" % (
                scenario, side, mean(rows, "rps"), mean(rows, "goodput"), mean(rows, "p50_ms"),
                max(row["p99_ms"] for row in rows), sum(row["refused"] for row in rows),
                sum(row["other"] for row in rows)))
    print()
    print("== at 50 % of each side's saturated rate (wrk with a due-time schedule in delay())")
    for scenario in scenarios:
        for side in ("klaxon", "bolt"):
            for row in rounds[scenario, side, "half"]:
                print("%-8s %-6s target %s/s: %.0f requests/s, goodput %.0f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms, refused %d" % (
                    scenario, side, row["target"], row["rps"], row["goodput"], row["p50_ms"], row["p99_ms"],
                    row["max_ms"], row["refused"]))
    print()
    print("== against issue 11's targets")
    worst_p99 = 0.0
    for scenario in scenarios:
        klaxon, bolt = rounds[scenario, "klaxon", "saturated"], rounds[scenario, "bolt", "saturated"]
        every = [row for (s, _, kind), rows in rounds.items() if s == scenario and kind != "warmup" for row in rows]
        worst_p99 = max([worst_p99] + [row["p99_ms"] for row in every])
        if not klaxon or not bolt:
            continue
        ratio = mean(klaxon, "goodput") / max(mean(bolt, "goodput"), 1e-9)
        refused = sum(row["refused"] for row in rounds[scenario, "klaxon", "saturated"] + rounds[scenario, "klaxon", "half"])
        line = "%-8s Klaxon goodput / Bolt acks = %.2f×" % (scenario, ratio)
        if scenario in TARGETS:
            line += " (target ≥ %g×: %s)" % (TARGETS[scenario], "met" if ratio >= TARGETS[scenario] else "NOT met")
        line += ", Klaxon refused %d" % refused
        if scenario == "note":
            line += " (target 0: %s)" % ("met" if refused == 0 else "NOT met")
        reused = sum(row["reused"] for row in every)
        if reused:
            line += ", WARNING: %d requests sent twice (raise MAX_RATE)" % reused
        print(line)
    print("p99 of every round < 3 s: %s (worst %.1f ms)" % ("met" if worst_p99 < 3000 else "NOT met", worst_p99))


if __name__ == "__main__":
    main()
