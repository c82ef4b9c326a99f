"""A small CNN of real torch.nn modules that learns the 8x8 handwritten digits shipped with scikit-learn.

    image (1, S, S) -> Conv2d(1, 8, 3, padding=1) -> ReLU -> MaxPool2d(2)
                    -> Conv2d(8, 16, 3, padding=1) -> ReLU -> MaxPool2d(2) -> Linear(16*S/4*S/4, 10)

Training is deterministic for a seed (private torch.Generator for the initial weights and the
shuffling), runs on the CPU in a few seconds, and reports accuracy on held-out images.
"""
import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ExplorerError

SIZES = (8, 16)          # native 8x8, or each pixel repeated 2x2
CLASSES = 10


@dataclass(frozen=True)
class DigitsData:
    """The 1797 scikit-learn digits, split once into train and held-out test images."""
    train_x: torch.Tensor  # (N_train, 1, S, S) in [0, 1]
    train_y: torch.Tensor  # (N_train,)
    test_x: torch.Tensor   # (N_test, 1, S, S)
    test_y: torch.Tensor   # (N_test,)


@functools.lru_cache(maxsize=8)
def load_data(size=8, test_fraction=0.2, seed=0):
    """The digits as tensors, pixel values 0..16 scaled to [0, 1], split by a seeded shuffle.

    Cached: callers only read the tensors."""
    if size not in SIZES:
        raise ExplorerError(f"The digits come as 8×8 images; choose a size of {' or '.join(map(str, SIZES))}.")
    from sklearn.datasets import load_digits  # ships inside scikit-learn: no download
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0        # (1797, 1, 8, 8)
    if size == 16:
        x = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)         # (1797, 1, 16, 16)
    y = torch.tensor(d.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return DigitsData(x[train], y[train], x[test], y[test])


class DigitsCNN(nn.Module):
    """Two conv-ReLU-pool stages and a linear classifier; each stage is a named, real module."""

    def __init__(self, size=8, channels=(8, 16)):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.fc = nn.Linear(c2 * (size // 4) ** 2, CLASSES)

    STAGES = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc")

    def forward(self, x):
        return self.stages(x)[-1][1]

    def stages(self, x):
        """[(stage name, activation)] for every stage, in order; the last is the class logits."""
        out = []
        for name in self.STAGES:
            if name == "fc":
                x = x.flatten(1)                                               # (N, C*H*W)
            x = getattr(self, name)(x)
            out.append((name, x))
        return out


def init_weights(model, seed):
    """torch's default uniform init, drawn from a private Generator instead of the global RNG."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[1] * p[0][0].numel() if p.dim() > 1 else None
            bound = 1 / np.sqrt(fan_in) if fan_in else 0.1
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * bound)
    return model


@dataclass(frozen=True)
class Trained:
    """A model after some epochs, with what it takes to train on: never modified once made."""
    model: DigitsCNN
    optimizer_state: dict   # Adam's moments, so the next epoch continues where this one stopped
    initial: dict           # state_dict before training, to compare filters
    losses: tuple           # mean training loss per epoch so far
    test_accuracy: float    # fraction of held-out images classified right
    size: int
    seed: int
    lr: float


EPOCHS = 12


def start(size=8, seed=0, lr=0.01):
    """The untrained network, its initial weights drawn from a private Generator."""
    data = load_data(size, seed=seed)
    model = init_weights(DigitsCNN(size), seed)
    model.eval()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return Trained(model, opt.state_dict(), {k: v.clone() for k, v in model.state_dict().items()}, (),
                   accuracy(model, data.test_x, data.test_y), size, seed, lr)


def train_epoch(previous, batch=64):
    """One more epoch of Adam on a copy of `previous`; deterministic for its seed and epoch number."""
    import copy
    data = load_data(previous.size, seed=previous.seed)
    model = copy.deepcopy(previous.model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=previous.lr)
    opt.load_state_dict(copy.deepcopy(previous.optimizer_state))
    epoch = len(previous.losses)
    g = torch.Generator().manual_seed(previous.seed * 1000 + epoch + 1)
    order = torch.randperm(len(data.train_y), generator=g)
    total = 0.0
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        loss = nn.functional.cross_entropy(model(data.train_x[idx]), data.train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    model.eval()
    return Trained(model, opt.state_dict(), previous.initial, previous.losses + (total / len(order),),
                   accuracy(model, data.test_x, data.test_y), previous.size, previous.seed, previous.lr)


def train(size=8, epochs=EPOCHS, seed=0, progress=None):
    """Train from scratch for `epochs`; `progress(epoch, epochs, loss)` after each epoch."""
    state = start(size, seed)
    for e in range(epochs):
        state = train_epoch(state)
        if progress:
            progress(e + 1, epochs, state.losses[-1])
    return state


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def predict(model, image):
    """Class probabilities for one image (1, S, S) or (S, S)."""
    x = image.reshape(1, 1, *image.shape[-2:]).float()
    with torch.no_grad():
        logits = model(x)[0]                                                    # (10,)
    e = torch.exp(logits - logits.max())
    return e / e.sum()


def activations(model, image):
    """[(stage, input, output)] through the whole network for one image (1, S, S), no grad."""
    x = image.reshape(1, 1, *image.shape[-2:]).float()
    with torch.no_grad():
        stages = model.stages(x)
    out, prev = [], x
    for name, act in stages:
        out.append((name, prev, act))
        prev = act
    return out


def stage_trace(model, image, stage):
    """The trace of one conv or pool stage, run on exactly the activation that feeds it.

    Its `output` is that stage's activation inside the network, so clicking a feature-map cell
    lands in the window that produced it.
    """
    from .conv import trace_conv
    from .pooling import trace_pool
    for name, inp, _ in activations(model, image):
        if name == stage:
            module = getattr(model, name)
            if isinstance(module, nn.Conv2d):
                return trace_conv(module, inp)
            if isinstance(module, nn.MaxPool2d):
                return trace_pool(module, inp)
            raise ExplorerError(f"Stage {stage} is not a convolution or pooling stage.")
    raise ExplorerError(f"The network has no stage {stage!r}; choose one of {', '.join(model.STAGES)}.")


def prepare_upload(image, size, invert):
    """An uploaded grayscale image (1, h, w) in [0, 1] -> (1, size, size), strokes bright like the data.

    The digits are bright strokes on black; a photo of ink on paper is the opposite, hence `invert`.
    """
    x = 1.0 - image if invert else image
    _, h, w = x.shape
    canvas = torch.zeros(1, size, size, dtype=x.dtype)
    top, left = (size - h) // 2, (size - w) // 2
    canvas[:, top:top + h, left:left + w] = x
    return canvas.float()
