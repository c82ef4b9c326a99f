"""trace_conv vs the raw module forward: how much does the step-by-step recomputation cost?"""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, report  # noqa: E402

from explorer import trace_conv  # noqa: E402

torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
cases = [
    ("Conv2d 3x224x224 -> 64 filters 3x3", nn.Conv2d(3, 64, 3), torch.randn(1, 3, 224, 224, generator=g)),
    ("Conv2d 3x224x224 -> 64 filters 3x3, padding 1, stride 2", nn.Conv2d(3, 64, 3, padding=1, stride=2),
     torch.randn(1, 3, 224, 224, generator=g)),
    ("ConvTranspose2d 64x28x28 -> 32, k4 s2", nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
     torch.randn(1, 64, 28, 28, generator=g)),
    ("Conv1d 16x1000 -> 32, k5 reflect", nn.Conv1d(16, 32, 5, padding=2, padding_mode="reflect"),
     torch.randn(1, 16, 1000, generator=g)),
]
for name, module, x in cases:
    with torch.no_grad():
        raw = median_time(lambda: module(x))
    report(name, median_time(lambda: trace_conv(module, x)), raw)
