"""Timing helpers for the benchmark scripts: medians of repeated runs, printed as ratios."""
import statistics
import time


def median_time(fn, repeat=20, warmup=3):
    """Median wall time of fn() in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(name, trace_s, raw_s, goal=5.0):
    ratio = trace_s / raw_s
    verdict = "meets" if ratio <= goal else "misses"
    print(f"{name}: trace {trace_s * 1e3:.2f} ms, raw forward {raw_s * 1e3:.2f} ms, "
          f"ratio {ratio:.2f}x ({verdict} the {goal:g}x goal)")
    return ratio
