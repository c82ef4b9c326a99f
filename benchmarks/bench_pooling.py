"""trace_pool / trace_upsample vs the raw module forward: what does the window-by-window recomputation cost?

The two are timed alternately, so a burst of load on a shared machine slows both alike.
"""
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402

from explorer.pooling import trace_pool, trace_upsample  # noqa: E402


def alternating_medians(trace_fn, raw_fn, repeat=30, warmup=3):
    """Median seconds of trace_fn() and raw_fn(), run one after the other `repeat` times."""
    for _ in range(warmup):
        trace_fn()
        raw_fn()
    trace_times, raw_times = [], []
    for _ in range(repeat):
        for fn, times in ((trace_fn, trace_times), (raw_fn, raw_times)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(trace_times), statistics.median(raw_times)


def raw_forward(module, x):
    with torch.no_grad():
        return module(x)


torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
image = torch.randn(64, 112, 112, generator=g)
cases = [
    ("MaxPool2d(2) on 64x112x112", trace_pool, nn.MaxPool2d(2), image),
    ("MaxPool2d(3, stride 2, padding 1, return_indices) on 64x112x112", trace_pool,
     nn.MaxPool2d(3, stride=2, padding=1, return_indices=True), image),
    ("AvgPool2d(3, stride 2, padding 1) on 64x112x112", trace_pool, nn.AvgPool2d(3, stride=2, padding=1), image),
    ("AdaptiveAvgPool2d(7) on 64x112x112", trace_pool, nn.AdaptiveAvgPool2d(7), image),
    ("Upsample bilinear x2 on 1x16x56x56", trace_upsample, nn.Upsample(scale_factor=2, mode="bilinear"),
     torch.randn(1, 16, 56, 56, generator=g)),
    ("Upsample bicubic x2 on 1x16x56x56", trace_upsample, nn.Upsample(scale_factor=2, mode="bicubic"),
     torch.randn(1, 16, 56, 56, generator=g)),
]
for name, trace, module, x in cases:
    report(name, *alternating_medians(lambda: trace(module, x), lambda: raw_forward(module, x)))
