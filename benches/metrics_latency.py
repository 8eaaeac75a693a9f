#!/usr/bin/env python3
"""/metrics latency benchmark (not a timed test): 1,000 scrapes of a running `vigie serve`,
percentiles printed.

    vigie serve pipelines/demo.yaml --run-on-start &      # after `vigie demo`
    benches/metrics_latency.py [--url http://127.0.0.1:9464/metrics] [--n 1000]
"""
import argparse
import statistics
import time
import urllib.request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:9464/metrics")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--token", default=None, help="bearer token, if the server requires one")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    times, size = [], 0
    for _ in range(args.n):
        request = urllib.request.Request(args.url, headers=headers)
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            size = len(response.read())
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(round(p / 100.0 * (len(times) - 1))))]
    print(f"{args.n} scrapes of {args.url} ({size:,} bytes each)")
    print(f"p50 {pct(50):.2f} ms  p90 {pct(90):.2f} ms  p99 {pct(99):.2f} ms  max {times[-1]:.2f} ms  mean {statistics.mean(times):.2f} ms")


if __name__ == "__main__":
    main()
