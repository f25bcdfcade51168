#!/usr/bin/env python3
"""How sure a req/s ratio of http.sh is: reads the per-pair lines http.sh writes to stderr
("log=off close-c50 pair 3: portd RPS P99 CPU, nginx RPS P99 CPU") and prints, per case and
log setting, the ratio of the medians (the table's figure) with a 95% bootstrap interval.

    ONLY=close-c50 LOG="off on" PAIRS=25 tests/bench/http.sh 2>&1 | tee pairs.log
    tests/bench/pair_stats.py pairs.log

An interval that holds 1.0 means the run cannot tell the two servers apart on that case. The
pairs are resampled whole, so a slow moment of the machine weighs on both servers alike.
"""
import random
import re
import statistics
import sys

PAIR = re.compile(r"log=(\w+) (\S+) pair \d+: portd ([\d.]+) \S+ \S+, nginx ([\d.]+) \S+ \S+")
RESAMPLES = 10000


def ratio_of_medians(pairs):
    return statistics.median(p for p, _ in pairs) / statistics.median(n for _, n in pairs)


def main():
    cases = {}
    with open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin as lines:
        for line in lines:
            m = PAIR.search(line)
            if m:
                cases.setdefault((m[2], m[1]), []).append((float(m[3]), float(m[4])))
    if not cases:
        sys.exit("no pair lines found (run http.sh with its stderr)")
    rng = random.Random(1)  # the same interval for the same input
    print("| case | log | pairs | req/s ratio | 95% interval | pairs portd ahead |")
    print("|---|---|---:|---:|---|---:|")
    for (case, log), pairs in cases.items():
        resampled = sorted(
            ratio_of_medians(rng.choices(pairs, k=len(pairs))) for _ in range(RESAMPLES))
        low = resampled[int(0.025 * RESAMPLES)]
        high = resampled[int(0.975 * RESAMPLES) - 1]
        ahead = sum(p >= n for p, n in pairs)
        print(f"| {case} | {log} | {len(pairs)} | {ratio_of_medians(pairs):.2f} | "
              f"{low:.2f} to {high:.2f} | {ahead} of {len(pairs)} |")


if __name__ == "__main__":
    main()
