#!/usr/bin/env python3
"""How sure the ratios of http.sh are: reads the per-pair lines http.sh writes to stderr
("log=off close-c50 pair 3: portd RPS P99 CPU, nginx RPS P99 CPU") and prints, per case and
log setting, the req/s and p99 ratios of the medians (the table's figures), each with a 95%
bootstrap interval.

    ONLY=close-c50 LOG="off on" PAIRS=25 tests/bench/http.sh 2>&1 | tee pairs.log
    tests/bench/pair_stats.py pairs.log

An interval that holds 1.0 means the run cannot tell the two servers apart on that case. The
pairs are resampled whole, so a slow moment of the machine weighs on both servers alike.
"""
import random
import re
import statistics
import sys

PAIR = re.compile(r"log=(\w+) (\S+) pair \d+: portd ([\d.]+) ([\d.]+) \S+, nginx ([\d.]+) ([\d.]+) \S+")
RESAMPLES = 10000


def ratio_of_medians(pairs):
    return statistics.median(p for p, _ in pairs) / statistics.median(n for _, n in pairs)


def with_interval(pairs):
    """The ratio of medians, and the 95% interval of it over resampled pairs."""
    rng = random.Random(1)  # the same interval for the same pairs
    resampled = sorted(
        ratio_of_medians(rng.choices(pairs, k=len(pairs))) for _ in range(RESAMPLES))
    low = resampled[int(0.025 * RESAMPLES)]
    high = resampled[int(0.975 * RESAMPLES) - 1]
    return f"{ratio_of_medians(pairs):.2f} | {low:.2f} to {high:.2f}"


def main():
    cases = {}
    with open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin as lines:
        for line in lines:
            m = PAIR.search(line)
            if m:
                cases.setdefault((m[2], m[1]), []).append(
                    (float(m[3]), float(m[5]), float(m[4]), float(m[6])))
    if not cases:
        sys.exit("no pair lines found (run http.sh with its stderr)")
    print("| case | log | pairs | req/s ratio | 95% interval | pairs portd ahead "
          "| p99 ratio | 95% interval |")
    print("|---|---|---:|---:|---|---:|---:|---|")
    for (case, log), runs in cases.items():
        rates = [(p, n) for p, n, _, _ in runs]
        p99s = [(p, n) for _, _, p, n in runs]
        ahead = sum(p >= n for p, n in rates)
        print(f"| {case} | {log} | {len(runs)} | {with_interval(rates)} | "
              f"{ahead} of {len(runs)} | {with_interval(p99s)} |")


if __name__ == "__main__":
    main()
