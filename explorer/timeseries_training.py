"""Training the time-series model on next-value prediction, and its forecasts.

    loss = mean over a batch of windows of (prediction - next value)^2      (scaled units)

The last `holdout` part of the series is never trained on: its predictions show whether the model
learned the pattern or memorised the values. A naive forecast (the next value equals the last one)
is the baseline every forecaster has to beat.
"""
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ExplorerError
from .threads import one_thread
from .timeseries import TimeSeriesModel, scaling_of, windows

MIN_TRAIN_WINDOWS = 8
LIMITS = dict(window=(2, 96), hidden=(1, 64), steps=(0, 2000), batch=(1, 256))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; hashable, so a page can cache the trained model by it."""
    window: int = 24      # past values the model reads for one prediction
    hidden: int = 8       # LSTM hidden size (also the size of the attention's layers)
    steps: int = 300      # Adam steps; 0 keeps the freshly initialised model
    lr: float = 0.01      # Adam learning rate
    batch: int = 32       # windows per step, drawn at random from the training part
    holdout: float = 0.2  # the last part of the series, kept out of training
    seed: int = 0         # initial weights and the order of the batches


def split_point(length, cfg):
    """Index of the first held-out value: targets before it are trained on."""
    return length - max(1, int(round(length * cfg.holdout)))


def validate(cfg, length):
    """Raise ExplorerError with what to change unless `cfg` can train on a series of `length` values."""
    for name, (lo, hi) in LIMITS.items():
        v = getattr(cfg, name)
        if not isinstance(v, int) or not lo <= v <= hi:
            raise ExplorerError(f"{name} must be a whole number from {lo} to {hi}; got {v!r}.")
    if not (isinstance(cfg.lr, float) and 0 < cfg.lr <= 1):
        raise ExplorerError(f"The learning rate must be above 0 and at most 1; got {cfg.lr!r}.")
    if not (isinstance(cfg.holdout, float) and 0 < cfg.holdout <= 0.5):
        raise ExplorerError(f"The held-out part must be above 0 and at most half the series; got {cfg.holdout!r}.")
    n_train = split_point(length, cfg) - cfg.window
    if n_train < MIN_TRAIN_WINDOWS:
        longest = split_point(length, cfg) - MIN_TRAIN_WINDOWS
        fix = f"use a window of at most {longest}" if longest >= LIMITS["window"][0] else "use a longer series"
        raise ExplorerError(f"With a window of {cfg.window} and the last {cfg.holdout:.0%} held out, a series of "
                            f"{length} values leaves {max(n_train, 0)} windows to train on (at least "
                            f"{MIN_TRAIN_WINDOWS} are needed): {fix}.")


@dataclass(frozen=True)
class Trained:
    """A trained model with its loss curve; shared read-only once made (never train it further)."""
    model: TimeSeriesModel
    config: TrainConfig
    scaling: object          # Scaling of the whole series
    losses: tuple            # training MSE (scaled units) at every step, on that step's batch
    n_train: int             # windows 0..n_train-1 have their targets before the held-out part


def train(series, cfg, progress=None, every=10):
    """Train a seeded TimeSeriesModel with Adam; the same series and config give the same model.

    Args:
        series: 1-D tensor of values in original units.
        cfg: TrainConfig (validated here).
        progress: optional progress(step, steps, loss), called every `every` steps and at the end.

    >>> from explorer.timeseries import synthetic
    >>> t = train(synthetic("sine", 64), TrainConfig(window=8, steps=20))
    >>> len(t.losses), t.n_train
    (20, 43)
    """
    series = torch.as_tensor(series)
    validate(cfg, len(series))
    scaling = scaling_of(series)
    x, y = windows(scaling.scale(series.double()), cfg.window)                 # (N, 1, W), (N, 1)
    n_train = split_point(len(series), cfg) - cfg.window
    x, y = x[:n_train], y[:n_train]
    model = TimeSeriesModel(cfg.hidden, seed=cfg.seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    g = torch.Generator().manual_seed(int(cfg.seed) + 1)
    losses = []
    with one_thread():
        for step in range(1, cfg.steps + 1):
            idx = torch.randint(0, n_train, (min(cfg.batch, n_train),), generator=g)
            loss = nn.functional.mse_loss(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if progress and (step % every == 0 or step == cfg.steps):
                progress(step, cfg.steps, losses[-1])
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)              # shared read-only: nothing may build a graph on it
    return Trained(model, cfg, scaling, tuple(losses), n_train)


@dataclass(frozen=True)
class Forecast:
    """One-step-ahead predictions for every window of a series, in original units."""
    steps: np.ndarray        # (N,) index in the series of each predicted value (window .. len - 1)
    truth: np.ndarray        # (N,) the value that came next
    prediction: np.ndarray   # (N,) the model's prediction of it
    naive: np.ndarray        # (N,) the naive forecast: the window's last value
    weights: np.ndarray      # (N, W) the module's attention weights over each window's steps
    n_train: int             # predictions 0..n_train-1 are of training targets

    @property
    def train_mse(self):
        return float(np.mean((self.prediction[:self.n_train] - self.truth[:self.n_train]) ** 2))

    @property
    def test_mse(self):
        return float(np.mean((self.prediction[self.n_train:] - self.truth[self.n_train:]) ** 2))

    @property
    def naive_test_mse(self):
        return float(np.mean((self.naive[self.n_train:] - self.truth[self.n_train:]) ** 2))

    def index_of(self, step):
        """Position in the arrays of the prediction for series index `step`."""
        first, last = int(self.steps[0]), int(self.steps[-1])
        if not first <= step <= last:
            raise ExplorerError(f"Step {step} has no prediction: the model predicts steps {first} to {last}.")
        return step - first


def forecast(trained, series):
    """Predict every next value of `series` (the one trained on) with the module itself, in one batch."""
    series = torch.as_tensor(series).double()
    s = trained.scaling
    x, _ = windows(s.scale(series), trained.config.window)                     # (N, 1, W)
    with torch.no_grad(), one_thread():
        stages = trained.model.stages(x)
    W = trained.config.window
    return Forecast(steps=np.arange(W, len(series)), truth=series[W:].numpy().copy(),
                    prediction=s.unscale(stages["prediction"][:, 0].double()).numpy(),
                    naive=series[W - 1:-1].numpy().copy(),
                    weights=stages["weights"][:, 0].double().numpy(), n_train=trained.n_train)


def window_at(trained, series, step):
    """The scaled input window (1, 1, W) whose next value is series[step], in the model's dtype."""
    series = torch.as_tensor(series).double()
    W = trained.config.window
    if not W <= step < len(series):
        raise ExplorerError(f"Step {step} has no prediction: the model predicts steps {W} to {len(series) - 1}.")
    return trained.scaling.scale(series[step - W:step]).float().view(1, 1, W)  # (1, 1, W)
