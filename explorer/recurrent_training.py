"""A recurrent layer learns to predict the next value of a sine wave, in a few hundred steps.

    ŷ_t = w · h_t + b,    loss = mean over t of (ŷ_t - x_{t+1})²

A tiny model (RNN, LSTM or GRU, then a Linear head) reads sine waves of random phase and
frequency and is trained with Adam. The weights before and after training are returned, so a page
can trace the very same layer before and after it has learned.
"""
import copy
import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from .errors import ExplorerError
from .examples.recurrent import KINDS, make_recurrent
from .threads import one_thread

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
    """A training run after some number of steps: the loss curve, the weights before and now, and
    everything needed to go on training exactly as one uninterrupted run would (optimizer and
    random-number state). Never modified: continue_training returns a new one."""
    kind: str                   # "RNN", "LSTM" or "GRU"
    hidden_size: int
    seed: int
    lr: float
    seq_len: int
    batch: int
    losses: tuple               # mean squared error at each training step so far
    initial_state: dict         # NextValueModel state_dict before training
    final_state: dict           # and after the steps so far
    optimizer_state: dict       # Adam's state_dict after the steps so far
    generator_state: torch.Tensor  # the batch generator's state, to draw the next batch
    inputs: torch.Tensor        # (T, 1) a held-out sine wave
    targets: torch.Tensor       # (T, 1) its next values
    predictions_before: torch.Tensor  # (T, 1) the untrained model on `inputs`
    predictions_after: torch.Tensor   # (T, 1) the model after the steps so far on `inputs`

    @property
    def steps(self):
        return len(self.losses)

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


def start_training(kind="LSTM", hidden_size=16, *, lr=0.02, seq_len=40, batch=16, seed=0):
    """A run at step 0: the seeded model, its predictions on a held-out wave, no loss yet.

    >>> start_training("RNN", 4).steps
    0
    """
    if kind not in KINDS:
        raise ExplorerError(f"Unknown recurrent layer {kind!r}; choose one of {', '.join(KINDS)}.")
    if not 1 <= hidden_size <= MAX_TRAINING_HIDDEN:
        raise ExplorerError(f"Choose 1 to {MAX_TRAINING_HIDDEN} hidden units for the training demo; got {hidden_size}.")
    if not (lr > 0 and math.isfinite(lr)):
        raise ExplorerError(f"The learning rate must be a positive number; got {lr}.")
    if not (1 <= seq_len <= 500 and 1 <= batch <= 256):
        raise ExplorerError(f"Choose 1 to 500 steps per wave and 1 to 256 waves per batch; got {seq_len} and {batch}.")
    model = NextValueModel(kind, hidden_size, seed)
    g = torch.Generator().manual_seed(int(seed) + 2)
    held_out_x, held_out_y = sine_batch(1, seq_len, g)                      # (T, 1, 1) each
    before = _predict(model, held_out_x)
    state = copy.deepcopy(model.state_dict())
    return TrainingResult(kind=kind, hidden_size=hidden_size, seed=seed, lr=lr, seq_len=seq_len, batch=batch,
                          losses=(), initial_state=state, final_state=state,
                          optimizer_state=torch.optim.Adam(model.parameters(), lr=lr).state_dict(),
                          generator_state=g.get_state(), inputs=held_out_x[:, 0], targets=held_out_y[:, 0],
                          predictions_before=before, predictions_after=before)


def continue_training(result, steps, callback=None):
    """`steps` more Adam steps on fresh sine waves; the same numbers as one uninterrupted run.

    `result` is left as it is (it may sit in a cache shared by many users): its weights and
    optimizer state are copied into a new model before training goes on.

    Args:
        callback: called as callback(step, loss) after every step (step counts from 1 for the
            whole run), e.g. to move a progress bar.
    """
    if not 1 <= steps <= MAX_TRAINING_STEPS - result.steps:
        raise ExplorerError(f"Choose 1 to {MAX_TRAINING_STEPS} training steps in all; "
                            f"{result.steps} are done and {steps} more were asked for.")
    model = result.model(trained=True).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=result.lr)
    optimizer.load_state_dict(copy.deepcopy(result.optimizer_state))
    g = torch.Generator()
    g.set_state(result.generator_state.clone())
    losses = list(result.losses)
    with one_thread():
        for _ in range(steps):
            x, y = sine_batch(result.batch, result.seq_len, g)               # (T, B, 1)
            loss = torch.mean((model(x) - y) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            if callback is not None:
                callback(len(losses), losses[-1])
    return replace(result, losses=tuple(losses), final_state=copy.deepcopy(model.state_dict()),
                   optimizer_state=copy.deepcopy(optimizer.state_dict()), generator_state=g.get_state(),
                   predictions_after=_predict(model, result.inputs.unsqueeze(1)))


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
    start = start_training(kind, hidden_size, lr=lr, seq_len=seq_len, batch=batch, seed=seed)
    return continue_training(start, steps, callback)


def _predict(model, x):
    with torch.no_grad():
        return model(x)[:, 0]                                                # (T, 1)


__all__ = ["NextValueModel", "TrainingResult", "sine_batch", "start_training", "continue_training", "train_next_value",
           "MAX_TRAINING_STEPS", "MAX_TRAINING_HIDDEN"]
