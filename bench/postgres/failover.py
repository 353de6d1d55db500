#!/usr/bin/env python3
"""Failover figures from one run's database (bench/postgres/run.sh): when the replica was killed, how long
until a surviving (or restarted) process posted its first reminder, and how late the reminders that came
due after the kill were. Reads SQLite with the sqlite3 module, PostgreSQL through psql.

    failover.py sqlite PATH KILLED_AT_MS CADENCE_S
    failover.py postgres URL KILLED_AT_MS CADENCE_S
"""
import math
import re
import sqlite3
import subprocess
import sys

kind, where, killed_at, cadence = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
QUERY = ("SELECT i.id, i.declared_at, t.at, t.text FROM timeline t JOIN incidents i ON i.id = t.incident_id "
         "WHERE t.kind = 'reminder' ORDER BY t.at")
if kind == "sqlite":
    rows = sqlite3.connect(where).execute(QUERY).fetchall()
else:
    psql = sys.argv[5] if len(sys.argv) > 5 else "psql"
    out = subprocess.run([psql, where, "-At", "-F", "\x1f", "-c", QUERY], check=True, capture_output=True, text=True).stdout
    rows = [line.split("\x1f") for line in out.splitlines() if line]

first_after = None
worst = 0.0
after = 0
for incident, declared, at, text in rows:
    declared, at = int(declared), int(at)
    elapsed = (at - declared) / 1000
    last = math.floor((elapsed + 0.005) / cadence)
    missed = re.search(r"\((\d+) missed while Klaxon was down\)", text)
    first = last - int(missed.group(1)) + 1 if missed else last
    due = declared + first * cadence * 1000
    if at > killed_at:
        after += 1
        first_after = at if first_after is None else min(first_after, at)
    if due >= killed_at:
        worst = max(worst, (at - due) / 1000)
gap = (first_after - killed_at) / 1000 if first_after is not None else float("nan")
print(f"kill to first reminder posted after it {gap:.2f} s; worst lateness of reminders due after the kill {worst:.2f} s ({after} reminders after the kill)")
