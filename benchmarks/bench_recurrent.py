"""trace_recurrent vs the raw module forward on LSTM(32, 128), T=512, batch 1.

The recomputation is a Python loop over time (the recurrence is sequential) against torch's fused
kernel, so this ratio is the price of seeing every gate at every step.
"""
import sys
from pathlib import Path

import torch
from torch import nn

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, report  # noqa: E402

from explorer.examples.recurrent import make_recurrent, random_input  # noqa: E402
from explorer.recurrent import trace_recurrent  # noqa: E402

cases = [
    ("LSTM(32, 128), T=512, batch 1", make_recurrent("LSTM", 32, 128, seed=0), random_input((512, 1, 32), seed=1)),
    ("GRU(32, 128), T=512, batch 1", make_recurrent("GRU", 32, 128, seed=0), random_input((512, 1, 32), seed=1)),
    ("RNN(32, 128), T=512, batch 1", make_recurrent("RNN", 32, 128, seed=0), random_input((512, 1, 32), seed=1)),
]
for name, module, x in cases:
    with torch.no_grad():
        raw = median_time(lambda: module(x), repeat=40)
    report(name, median_time(lambda: trace_recurrent(module, x), repeat=40), raw)
