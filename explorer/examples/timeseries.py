"""The time-series notes' model on small fixed inputs, and the readings of it that go wrong.

The notes' numbers are right; what trips learners up is what they mean: the sign and the edge of the
differentiator, h_n next to the LSTM's outputs, and the permute into the LSTM's layout.
"""
from dataclasses import dataclass

import torch
from torch import nn

from ..conv import trace_conv
from ..recurrent import trace_recurrent
from ..timeseries import DIFFERENTIATOR
from . import Mistake


def differentiator(dtype=torch.float32):
    """The notes' Conv1d: kernel [1, 0, -1], padding 1, no bias."""
    conv = nn.Conv1d(1, 1, 3, padding=1, bias=False, dtype=dtype, device="meta").to_empty(device="cpu")
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(DIFFERENTIATOR, dtype=dtype).view(1, 1, 3))
    return conv


def counting(n=10, dtype=torch.float32):
    """The notes' input 1..n as [batch, channels, seq] = [1, 1, n]."""
    return torch.arange(1, n + 1, dtype=dtype).view(1, 1, n)


@dataclass(frozen=True)
class Reordering:
    """Two sequences in [batch, channels, seq], brought to [seq, batch, features] two ways."""
    x: torch.Tensor          # (2, 1, T)
    permuted: torch.Tensor   # x.permute(2, 0, 1): (T, 2, 1), column b is sequence b
    reshaped: torch.Tensor   # x.reshape(T, 2, 1): the same numbers in storage order, mixed up


def mistakes():
    """The callouts of the Time-series page, each with real module output."""
    conv = trace_conv(differentiator(), counting())
    d = conv.output[0, 0]
    sign = Mistake(
        title="The differentiator: a rising series gives −2, and the last value is padding",
        claim="Kernel [1, 0, −1] with padding 1 is a differentiator that 'predicts the trends'; on 1..10 it "
              f"prints {[round(v, 4) for v in d.tolist()]}, and the last element is 'exceptionally large or "
              "small due to the edge effect of padding'.",
        what_goes_wrong=f"The numbers are right, but read the sign: PyTorch slides the kernel unflipped, so "
                        f"d_t = 1·x_(t−1) + 0·x_t − 1·x_(t+1) = x_(t−1) − x_(t+1). A series rising by 1 per step "
                        f"gives {d[4]:g}, minus twice the slope; a textbook (flipped) convolution would give "
                        f"{-d[4]:g}. The last value {d[-1]:g} is no trend: it is x_8 − 0, the value before the last "
                        f"minus a padding zero. The first, {d[0]:g}, looks like the others only because the padding "
                        "zero before x_0 = 1 happens to be one less than it.",
        trace=conv,
        code="conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)\n"
             "conv.weight.data = torch.tensor([[[1., 0., -1.]]])\n"
             "print(conv(torch.arange(1., 11.).view(1, 1, 10)))")

    lstm = nn.LSTM(1, 4, device="meta").to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in lstm.parameters():
            p.uniform_(-0.5, 0.5, generator=g)
    rec = trace_recurrent(lstm, conv.output.permute(2, 0, 1))
    gap = float((rec.h_n[0] - rec.output[-1]).abs().max())
    summary = Mistake(
        title="h_n is not a different summary: it is the last output",
        claim="'The h_n vector acts as a summary of the entire sequence, i.e. the long term representation. "
              "Whereas the output acts as an overall Long and Short term summary.'",
        what_goes_wrong="For one layer and one direction, output holds h_t for every step t, and h_n is simply "
                        f"its last row: h_n[0] and output[-1] differ by {gap:g}. That is why the attention "
                        "query h_n[−1] is also the last of the keys. Only c_n, the cell state, is not in the "
                        "output.",
        trace=rec,
        code="lstm = nn.LSTM(1, 4)\n"
             "out, (h_n, c_n) = lstm(torch.randn(10, 1, 1))\n"
             "print(h_n[0]); print(out[-1])   # the same numbers")

    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0]], [[10.0, 20.0, 30.0, 40.0]]])             # (2, 1, 4)
    order = Reordering(x, x.permute(2, 0, 1), x.reshape(4, 2, 1))
    permute = Mistake(
        title="[batch, channels, seq] → [seq, batch, features] needs permute, not reshape or view",
        claim="'The expected input shape is [batch size, 1, sequence len]. This is then transformed to "
              "[sequence len, batch size, 1] which is the required input shape for nn.LSTM.'",
        what_goes_wrong="Right, and the notes use permute(2, 0, 1). reshape(seq, batch, 1) gives the same shape "
                        "but keeps the numbers in memory order, so with more than one sequence in the batch the "
                        f"LSTM's column 0 reads {order.reshaped[:, 0, 0].tolist()} instead of "
                        f"{order.permuted[:, 0, 0].tolist()}: steps of different sequences mixed. With batch 1 "
                        "both agree, which hides the bug.",
        trace=order,
        code="x = torch.tensor([[[1., 2., 3., 4.]], [[10., 20., 30., 40.]]])   # [2, 1, 4]\n"
             "print(x.permute(2, 0, 1)[:, 0, 0])   # tensor([1., 2., 3., 4.])\n"
             "print(x.reshape(4, 2, 1)[:, 0, 0])   # steps of both sequences")
    return [sign, summary, permute]
