#!/usr/bin/env python3
"""Top functions of a `perf record -g` profile, by self and by inclusive share of the samples, for
bench/profile/run.sh. Reads `perf script -F ip,sym,dso` on stdin. perf 6.1 cannot read the symbol table of
the Swift release binary ("cannot get elf header"), so addresses in BINARY are named here from `nm` (its
first LOAD segment maps file offsets to the same addresses, which is what perf script prints for an
unnamed frame), and Swift names are demangled with swift-demangle.

    perf script -i perf.data -F ip,sym,dso | report.py BINARY [TOP]
"""
import bisect
import collections
import subprocess
import sys


def symbol_table(binary):
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "TtWw":
            table.append((int(parts[0], 16), parts[2]))
    table.sort()
    return [address for address, _ in table], [name for _, name in table]


def samples(lines):
    """Each sample's frames, innermost first, as (dso, symbol-or-address)."""
    frames = []
    for line in lines:
        line = line.strip()
        if not line:
            if frames:
                yield frames
            frames = []
            continue
        address, _, rest = line.partition(" ")
        dso = rest[rest.rfind("(") + 1:-1] if rest.endswith(")") else "?"
        symbol = rest[:rest.rfind("(")].strip() if "(" in rest else rest
        frames.append((dso, symbol, address))
    if frames:
        yield frames


def main():
    binary = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    addresses, names = symbol_table(binary)

    def name(dso, symbol, address):
        short = dso.rsplit("/", 1)[-1]
        if dso == binary or (symbol in ("", "[unknown]") and dso.endswith("/" + binary.rsplit("/", 1)[-1])):
            index = bisect.bisect_right(addresses, int(address, 16)) - 1
            if index >= 0:
                return short, names[index]
        if symbol.startswith("[unknown]") or not symbol:
            return short, "0x" + address
        return short, symbol.split("+0x")[0]

    self_counts = collections.Counter()
    inclusive = collections.Counter()
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        named = [name(*frame) for frame in frames]
        self_counts[named[0]] += 1
        for frame in set(named):
            inclusive[frame] += 1
    if not total:
        print("no samples")
        return

    mangled = sorted({symbol for counter in (self_counts, inclusive) for _, symbol in counter})
    demangled = subprocess.run(
        ["swift-demangle", "--simplified"], input="\n".join(mangled), capture_output=True, text=True).stdout.splitlines()
    readable = dict(zip(mangled, demangled)) if len(demangled) == len(mangled) else {}

    for title, counter in (("inclusive", inclusive), ("self", self_counts)):
        print("  by %s share of %d samples:" % (title, total))
        for (dso, symbol), count in counter.most_common(top):
            print("    %5.1f%%  %-26s %s" % (100.0 * count / total, dso[:26], readable.get(symbol, symbol)[:160]))
        print()


if __name__ == "__main__":
    main()
