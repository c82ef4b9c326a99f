"""A small CNN of real torch.nn modules that learns the 8x8 handwritten digits shipped with scikit-learn.

    image (1, S, S) -> Conv2d(1, 8, 3, padding=1) -> ReLU -> MaxPool2d(2)
                    -> Conv2d(8, 16, 3, padding=1) -> ReLU -> MaxPool2d(2) -> Linear(16*(S/4)^2, 10)

Training is deterministic for a seed (a private torch.Generator draws the initial weights and the
order of the batches), runs on the CPU in about a second, and reports accuracy on held-out images.
Every conv or pool stage of the trained network can be handed to trace_conv / trace_pool on exactly
the activation that feeds it, so any cell of any feature map comes with its window of arithmetic.

>>> trained = train(TrainConfig(size=8, epochs=1))
>>> data = load_data(8)
>>> probs = predict(trained.model, data.test_x[0])
>>> tuple(probs.shape), round(float(probs.sum()), 4)
((10,), 1.0)
"""
import copy
import functools
import math
from dataclasses import dataclass

import torch
from torch import nn

from .conv import trace_conv
from .errors import ExplorerError
from .pooling import trace_pool
from .threads import one_thread

SIZES = (8, 16)          # native 8x8, or each pixel repeated 2x2
CLASSES = 10
EPOCHS = 12
SPLIT_SEED = 0           # one fixed train/test split: "test image 17" is the same digit for every model seed
TEST_FRACTION = 0.2
STAGES = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc")
TRACED = ("conv1", "pool1", "conv2", "pool2")   # the stages whose cells have a window of arithmetic


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained network; one cached network per value."""
    size: int = 8          # image side: 8 (native) or 16 (each pixel repeated 2x2)
    seed: int = 0          # initial weights and batch order
    epochs: int = EPOCHS   # passes over the 1437 training images
    lr: float = 0.01       # Adam's learning rate
    batch: int = 64        # images per step
    channels: tuple = (8, 16)  # feature maps of conv1 and conv2


@dataclass(frozen=True)
class DigitsData:
    """The 1797 scikit-learn digits, split once into training and held-out test images."""
    train_x: torch.Tensor  # (N_train, 1, S, S) in [0, 1], bright strokes on black
    train_y: torch.Tensor  # (N_train,)
    test_x: torch.Tensor   # (N_test, 1, S, S)
    test_y: torch.Tensor   # (N_test,)


@functools.lru_cache(maxsize=4)
def load_data(size=8):
    """The digits as tensors, pixel values 0..16 scaled to [0, 1], split by a fixed seeded shuffle.

    Cached: callers only read the tensors."""
    if size not in SIZES:
        raise ExplorerError(f"The digits come as 8×8 images; choose a size of {' or '.join(map(str, SIZES))}.")
    from sklearn.datasets import load_digits  # ships inside scikit-learn: no download
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0        # (1797, 1, 8, 8)
    if size == 16:
        x = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)         # (1797, 1, 16, 16)
    y = torch.tensor(d.target, dtype=torch.long)                              # (1797,)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = int(len(y) * TEST_FRACTION)
    test, train_ = order[:n_test], order[n_test:]
    return DigitsData(x[train_], y[train_], x[test], y[test])


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

    def forward(self, x):
        return self.stages(x)[-1][1]

    def stages(self, x):
        """[(stage name, activation)] for every stage, in order; the last is the class logits."""
        out = []
        for name in STAGES:
            if name == "fc":
                x = x.flatten(1)                                               # (N, C*H*W)
            x = getattr(self, name)(x)
            out.append((name, x))
        return out


def init_weights(model, seed):
    """torch's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases alike, drawn
    from a private Generator instead of the global RNG (shared by every session of the server)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                bound = 1 / math.sqrt(m.weight[0].numel())                     # fan_in = in * k * k
                for p in (m.weight, m.bias):
                    p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * bound)
    return model


@dataclass(frozen=True)
class Trained:
    """A network after some epochs, with what it takes to train on: never modified once made."""
    config: TrainConfig
    model: DigitsCNN
    optimizer_state: dict   # Adam's moments, so the next epoch continues where this one stopped
    initial: dict           # state_dict before training, to compare filters
    losses: tuple           # mean training loss per epoch so far
    test_accuracy: float    # fraction of held-out images classified right

    @property
    def epochs_done(self):
        return len(self.losses)


def start(config=TrainConfig()):
    """The untrained network, its initial weights drawn from a private Generator."""
    if config.size not in SIZES:
        raise ExplorerError(f"Choose an image size of {' or '.join(map(str, SIZES))}.")
    data = load_data(config.size)
    with torch.device("meta"):  # no default init: it would draw from the global RNG that every session shares
        model = DigitsCNN(config.size, config.channels)
    model = init_weights(model.to_empty(device="cpu"), config.seed)
    model.eval()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    return Trained(config, model, opt.state_dict(), copy.deepcopy(model.state_dict()), (),
                   accuracy(model, data.test_x, data.test_y))


def train_epoch(previous):
    """One more epoch of Adam on a copy of `previous` (which stays as it was); deterministic for its
    seed and epoch number."""
    with one_thread():
        return _train_epoch(previous)


def _train_epoch(previous):
    cfg = previous.config
    data = load_data(cfg.size)
    model = copy.deepcopy(previous.model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    opt.load_state_dict(copy.deepcopy(previous.optimizer_state))
    g = torch.Generator().manual_seed(cfg.seed * 1000 + previous.epochs_done + 1)
    order = torch.randperm(len(data.train_y), generator=g)
    total = 0.0
    for i in range(0, len(order), cfg.batch):
        idx = order[i:i + cfg.batch]
        loss = nn.functional.cross_entropy(model(data.train_x[idx]), data.train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    model.eval()
    return Trained(cfg, model, opt.state_dict(), previous.initial, previous.losses + (total / len(order),),
                   accuracy(model, data.test_x, data.test_y))


def train(config=TrainConfig(), progress=None):
    """Train from scratch for config.epochs; `progress(epoch, epochs, loss)` after each epoch."""
    state = start(config)
    for e in range(config.epochs):
        state = train_epoch(state)
        if progress:
            progress(e + 1, config.epochs, state.losses[-1])
    return state


def predicted_classes(model, x):
    """(N,) the class with the highest score for each image of x (N, 1, S, S)."""
    with torch.no_grad():
        return model(x).argmax(1)


def accuracy(model, x, y):
    return float((predicted_classes(model, x) == y).float().mean())


def confusion(model, data):
    """(10, 10) counts over the test images: row = true digit, column = the network's answer."""
    pred = predicted_classes(model, data.test_x)
    counts = torch.zeros(CLASSES, CLASSES, dtype=torch.long)
    counts.index_put_((data.test_y, pred), torch.ones_like(pred), accumulate=True)
    return counts


def misread(model, data):
    """[(test index, true digit, the network's answer)] of every test image the network gets wrong."""
    pred = predicted_classes(model, data.test_x)
    return [(int(i), int(data.test_y[i]), int(pred[i])) for i in (pred != data.test_y).nonzero().flatten()]


def predict(model, image):
    """Class probabilities (10,) for one image (1, S, S) or (S, S): softmax of the logits."""
    x = _as_batch(model, image)
    with torch.no_grad():
        logits = model(x)[0]                                                    # (10,)
    e = torch.exp(logits - logits.max())
    return e / e.sum()


def _as_batch(model, image):
    size = model.fc.in_features // model.conv2.out_channels
    side = int(round(math.sqrt(size))) * 4
    if image.shape[-2:] != (side, side):
        raise ExplorerError(f"This network reads {side}×{side} images; the image is "
                            f"{image.shape[-2]}×{image.shape[-1]}.")
    return image.reshape(1, 1, side, side).float()                             # (1, 1, S, S)


def activations(model, image):
    """[(stage, input, output)] through the whole network for one image (1, S, S), no grad."""
    x = _as_batch(model, image)
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
    if stage not in TRACED:
        raise ExplorerError(f"Choose one of the stages {', '.join(TRACED)}; {stage!r} has no window of arithmetic.")
    inp = dict((name, i) for name, i, _ in activations(model, image))[stage]
    module = getattr(model, stage)
    return trace_conv(module, inp) if isinstance(module, nn.Conv2d) else trace_pool(module, inp)


def source_stage(stage):
    """Which activation a stage reads: the input image for conv1, else the stage just before it."""
    i = STAGES.index(stage)
    return "input" if i == 0 else STAGES[i - 1]


def window_cells(trace, channel, row, col):
    """(input channels, [(row, col)]) that output cell (channel, row, col) reads, in input coordinates
    (-1 or S for a padding cell), for outlining the window on the previous feature maps."""
    if hasattr(trace, "receptive_field"):                                      # a ConvTrace
        trace.window(0, channel, row, col)   # a bad position fails here, with the trace's message
        h, w = trace.axes
        cells = [(r - h.pad_before, c - w.pad_before) for r, c in trace.receptive_field(row, col)]
        return trace.group_of(channel)[1], cells
    win = trace.window(0, channel, row, col)
    return [channel], [tuple(cell.position) for cell in win.cells]


def prepare_upload(image, size, invert):
    """An uploaded grayscale image (1, h, w) in [0, 1] (explorer.examples.images.load_image with
    longest side `size`) -> (1, size, size) float32, bright strokes on black like the training data.

    The digits are bright strokes on black; a photo of ink on paper is the opposite, hence `invert`.
    The contrast is stretched to [0, 1], as the training images span it, and the image is centred.
    """
    if image.dim() != 3 or image.shape[0] != 1 or max(image.shape[1:]) > size:
        raise ExplorerError(f"Expected a grayscale image of at most {size}×{size} pixels.")
    x = 1.0 - image if invert else image
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 0.05:
        raise ExplorerError("The image is (almost) one flat colour: upload a picture of a single digit with "
                            "clear strokes.")
    x = (x - lo) / (hi - lo)                                                   # (1, h, w) in [0, 1]
    _, h, w = x.shape
    canvas = torch.zeros(1, size, size, dtype=x.dtype)
    top, left = (size - h) // 2, (size - w) // 2
    canvas[:, top:top + h, left:left + w] = x
    return canvas.float()                                                      # (1, S, S)


def stage_snippet(model, stage, trace, channel, row, col):
    """Runnable PyTorch source: the stage's real module with its trained weights, the exact
    activation that feeds it, and the selected cell printed (after ReLU too, for a conv)."""
    from .snippets import module_snippet, tensor_literal
    module = getattr(model, stage)
    if isinstance(module, nn.Conv2d):
        constructor = f"nn.Conv2d({module.in_channels}, {module.out_channels}, 3, padding=1)"
    else:
        constructor = "nn.MaxPool2d(2)"
    cell = f"y[0, {channel}, {row}, {col}]"
    prints = [f"{cell}.item()"] + ([f"torch.relu({cell}).item()"] if isinstance(module, nn.Conv2d) else [])
    return module_snippet(constructor, module, extra_lines=[f"x = {tensor_literal(trace.x)}", "y = layer(x)"],
                          prints=prints)


def layer_table(model, acts):
    """(stage, module, output shape, parameters) for every stage of the network."""
    rows = [("input", "one grayscale image", str(tuple(acts[0][1].shape)), "0")]
    for name, _, out in acts:
        module = getattr(model, name)
        params = sum(p.numel() for p in module.parameters())
        rows.append((name, repr(module), str(tuple(out.shape)), f"{params:,}"))
    return rows
