"""A recurrent layer learns to predict the next value of a sine wave, in a few hundred steps.

    ŷ_t = w · h_t + b,    loss = mean over t of (ŷ_t - x_{t+1})²

A tiny model (RNN, LSTM or GRU, then a Linear head) reads sine waves of random phase and
frequency and is trained with Adam. The weights before and after training are returned, so a page
can trace the very same layer before and after it has learned.
"""
import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ExplorerError
from .examples.recurrent import KINDS, make_recurrent

MAX_TRAINING_STEPS = 2000
MAX_TRAINING_HIDDEN = 64


class NextValueModel(nn.Module):
    """A recurrent layer and a Linear head: reads x_1..x_t, predicts x_{t+1} at every step."""

    def __init__(self, kind, hidden_size, seed=0):
        super().__init__()
        self.rnn = make_recurrent(kind, 1, hidden_size, seed=seed)
        self.head = nn.Linear(hidden_size, 1, device="meta").to_empty(device="cpu")
        g = torch.Generator().manual_seed(int(seed) + 1)
        bound = 1.0 / math.sqrt(hidden_size)
        with torch.no_grad():
            for p in self.head.parameters():
                p.uniform_(-bound, bound, generator=g)

    def forward(self, x):
        """x: (T, B, 1) -> predictions (T, B, 1)."""
        out, _ = self.rnn(x)                                                 # (T, B, H)
        return self.head(out)                                                # (T, B, 1)


@dataclass(frozen=True)
class TrainingResult:
    """A finished run: the loss curve and the model's weights before and after."""
    kind: str                   # "RNN", "LSTM" or "GRU"
    hidden_size: int
    seed: int
    losses: tuple               # mean squared error at each training step
    initial_state: dict         # NextValueModel state_dict before training (copies)
    final_state: dict           # and after
    inputs: torch.Tensor        # (T, 1) a held-out sine wave
    targets: torch.Tensor       # (T, 1) its next values
    predictions_before: torch.Tensor  # (T, 1) the untrained model on `inputs`
    predictions_after: torch.Tensor   # (T, 1) the trained model on `inputs`

    def model(self, trained=True):
        """A fresh NextValueModel holding the weights after (or before) training."""
        m = NextValueModel(self.kind, self.hidden_size, self.seed)
        m.load_state_dict(self.final_state if trained else self.initial_state)
        return m.eval()

    def recurrent(self, trained=True):
        """The recurrent layer alone, ready for trace_recurrent(layer, result.inputs)."""
        return self.model(trained).rnn


def sine_batch(batch, seq_len, generator):
    """Sine waves with random phase and period (8 to 24 steps). Returns x, y, both (T, B, 1), y_t = x_{t+1}."""
    phase = torch.rand(batch, generator=generator) * 2 * math.pi                # (B,)
    period = 8 + 16 * torch.rand(batch, generator=generator)                   # (B,)
    t = torch.arange(seq_len + 1, dtype=torch.float32)                          # (T+1,)
    wave = torch.sin(2 * math.pi * t[:, None] / period[None, :] + phase[None, :])  # (T+1, B)
    wave = wave.unsqueeze(-1)                                                   # (T+1, B, 1)
    return wave[:-1], wave[1:]


def train_next_value(kind="LSTM", hidden_size=16, steps=300, *, lr=0.02, seq_len=40, batch=16, seed=0,
                     callback=None):
    """Train NextValueModel on fresh sine waves at every step; deterministic for a given seed.

    Args:
        kind: "RNN", "LSTM" or "GRU".
        hidden_size: 1 to 64 units.
        steps: 1 to 2000 Adam steps.
        callback: called as callback(step, loss) after every step (step counts from 1), e.g. to
            move a progress bar.

    Returns:
        TrainingResult.

    >>> r = train_next_value("GRU", 8, steps=20)
    >>> len(r.losses), r.inputs.shape
    (20, torch.Size([40, 1]))
    """
    if kind not in KINDS:
        raise ExplorerError(f"Unknown recurrent layer {kind!r}; choose one of {', '.join(KINDS)}.")
    if not 1 <= hidden_size <= MAX_TRAINING_HIDDEN:
        raise ExplorerError(f"Choose 1 to {MAX_TRAINING_HIDDEN} hidden units for the training demo; got {hidden_size}.")
    if not 1 <= steps <= MAX_TRAINING_STEPS:
        raise ExplorerError(f"Choose 1 to {MAX_TRAINING_STEPS} training steps; got {steps}.")
    model = NextValueModel(kind, hidden_size, seed)
    initial = copy.deepcopy(model.state_dict())
    g = torch.Generator().manual_seed(int(seed) + 2)
    held_out_x, held_out_y = sine_batch(1, seq_len, g)                      # (T, 1, 1) each
    before = _predict(model, held_out_x)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(1, steps + 1):
        x, y = sine_batch(batch, seq_len, g)                                 # (T, B, 1)
        loss = torch.mean((model(x) - y) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        if callback is not None:
            callback(step, losses[-1])
    return TrainingResult(kind=kind, hidden_size=hidden_size, seed=seed, losses=tuple(losses),
                          initial_state=initial, final_state=copy.deepcopy(model.state_dict()),
                          inputs=held_out_x[:, 0], targets=held_out_y[:, 0],
                          predictions_before=before, predictions_after=_predict(model, held_out_x))


def _predict(model, x):
    with torch.no_grad():
        return model(x)[:, 0]                                                # (T, 1)


__all__ = ["NextValueModel", "TrainingResult", "sine_batch", "train_next_value", "MAX_TRAINING_STEPS"]
