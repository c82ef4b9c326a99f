"""The digits CNN: it learns (to a stated accuracy on a fixed seed), every cell's window equals the
network's own activation, uploads are validated, and the generated snippet prints the same numbers."""
import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from explorer import ExplorerError, digits
from explorer.examples.images import load_image

ACCURACY_BOUND = 0.93   # seed 0 reaches about 0.97 on the 359 held-out images; chance is 0.10


@pytest.fixture(scope="module")
def trained():
    return digits.train(digits.TrainConfig(size=8, seed=0))


@pytest.fixture(scope="module")
def trained16():
    return digits.train(digits.TrainConfig(size=16, seed=0))


def _hooked(model, image):
    """Every module's output for one image, captured by forward hooks: independent of stages()."""
    seen = {}
    handles = [getattr(model, name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o))
               for name in digits.STAGES]
    with torch.no_grad():
        model(image.reshape(1, 1, *image.shape[-2:]))
    for h in handles:
        h.remove()
    return seen


# -- data -------------------------------------------------------------------------------------------
def test_data_is_the_scikit_learn_digits_split_once():
    d = digits.load_data(8)
    assert d.train_x.shape == (1438, 1, 8, 8) and d.test_x.shape == (359, 1, 8, 8)
    assert float(d.train_x.min()) == 0.0 and float(d.train_x.max()) == 1.0   # 0..16 scaled by 1/16
    assert sorted(set(d.test_y.tolist())) == list(range(10))
    from sklearn.datasets import load_digits
    raw = load_digits()
    # the first test image is one of the 1797 originals, pixel for pixel
    first = d.test_x[0, 0].numpy() * 16
    assert any(np.array_equal(first, img) for img in raw.images)


def test_16x16_repeats_each_pixel_two_by_two():
    small, big = digits.load_data(8).test_x[5, 0], digits.load_data(16).test_x[5, 0]
    assert big.shape == (16, 16)
    for r in range(8):
        for c in range(8):
            assert torch.all(big[2 * r:2 * r + 2, 2 * c:2 * c + 2] == small[r, c])


def test_an_unknown_size_is_refused():
    with pytest.raises(ExplorerError, match="8×8"):
        digits.load_data(12)
    with pytest.raises(ExplorerError, match="size"):
        digits.start(digits.TrainConfig(size=10))


# -- training ---------------------------------------------------------------------------------------
def test_training_on_the_fixed_seed_reaches_the_stated_accuracy(trained, trained16):
    assert trained.epochs_done == digits.EPOCHS
    assert trained.test_accuracy >= ACCURACY_BOUND, trained.test_accuracy
    assert trained16.test_accuracy >= ACCURACY_BOUND, trained16.test_accuracy
    # the reported accuracy is the fraction of held-out images whose top class is the label
    data = digits.load_data(8)
    with torch.no_grad():
        right = (trained.model(data.test_x).argmax(1) == data.test_y).sum().item()
    assert trained.test_accuracy == pytest.approx(right / 359)
    assert trained.losses[-1] < trained.losses[0] / 5


def test_training_is_reproducible_and_never_touches_the_global_rng():
    before = torch.random.get_rng_state()
    a = digits.train(digits.TrainConfig(seed=3, epochs=2))
    b = digits.train(digits.TrainConfig(seed=3, epochs=2))
    c = digits.train(digits.TrainConfig(seed=4, epochs=2))
    assert torch.equal(torch.random.get_rng_state(), before)
    for name, p in a.model.state_dict().items():
        assert torch.equal(p, b.model.state_dict()[name])
    assert not torch.equal(a.model.conv1.weight, c.model.conv1.weight)
    assert a.losses == b.losses


def test_an_epoch_leaves_the_previous_network_as_it_was():
    first = digits.start(digits.TrainConfig(seed=1))
    weights = {k: v.clone() for k, v in first.model.state_dict().items()}
    nxt = digits.train_epoch(first)
    for k, v in first.model.state_dict().items():
        assert torch.equal(v, weights[k])
    assert nxt.epochs_done == 1 and first.epochs_done == 0
    assert not torch.equal(nxt.model.conv1.weight, first.model.conv1.weight)
    assert torch.equal(nxt.initial["conv1.weight"], weights["conv1.weight"])  # "before training" kept


def test_initial_weights_follow_torch_default_bounds():
    model = digits.start(digits.TrainConfig(seed=0)).model
    for name, fan_in in (("conv1", 1 * 3 * 3), ("conv2", 8 * 3 * 3), ("fc", 16 * 2 * 2)):
        m = getattr(model, name)
        bound = 1 / fan_in ** 0.5
        for p in (m.weight.detach(), m.bias.detach()):
            assert float(p.abs().max()) <= bound
            assert float(p.abs().max()) > 0.5 * bound   # spread over the range, not all tiny


def test_parameter_counts(trained):
    acts = digits.activations(trained.model, digits.load_data(8).test_x[0])
    table = {name: (shape, params) for name, _, shape, params in digits.layer_table(trained.model, acts)}
    # conv1: 8 filters of 1x3x3 + 8 biases; conv2: 16 of 8x3x3 + 16; fc: 16*2*2 inputs to 10 classes
    assert table["conv1"] == ("(1, 8, 8, 8)", "80")
    assert table["conv2"] == ("(1, 16, 4, 4)", "1,168")
    assert table["pool2"] == ("(1, 16, 2, 2)", "0")
    assert table["fc"] == ("(1, 10)", "650")


# -- one image through the network ------------------------------------------------------------------
def test_probabilities_are_the_softmax_of_the_logits(trained):
    image = digits.load_data(8).test_x[7]
    probs = digits.predict(trained.model, image)
    with torch.no_grad():
        expected = torch.softmax(trained.model(image.unsqueeze(0)), dim=1)[0]
    assert torch.allclose(probs, expected, atol=1e-6)
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-6)


def test_a_wrongly_sized_image_is_refused(trained):
    with pytest.raises(ExplorerError, match="8×8"):
        digits.predict(trained.model, torch.zeros(1, 16, 16))


@pytest.mark.parametrize("index", [0, 100, 358])
def test_every_cell_of_every_stage_matches_the_network(trained, index):
    """Clicking any cell lands on a window whose total is the network's own activation there."""
    image = digits.load_data(8).test_x[index]
    seen = _hooked(trained.model, image)
    for stage in digits.TRACED:
        trace = digits.stage_trace(trained.model, image, stage)
        assert torch.equal(trace.output, seen[stage])
        assert trace.max_abs_error < 1e-5
        _, C, H, W = seen[stage].shape
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    win = trace.window(0, c, i, j)
                    got = win.total if stage.startswith("conv") else win.result
                    assert got == pytest.approx(float(seen[stage][0, c, i, j]), abs=1e-5), (stage, c, i, j)


@settings(max_examples=20, deadline=None)
@given(stage=st.sampled_from(digits.TRACED), index=st.integers(0, 358), channel=st.integers(0, 15),
       row=st.integers(0, 15), col=st.integers(0, 15))
def test_cells_of_the_16x16_network_match_it(trained16, stage, index, channel, row, col):
    image = digits.load_data(16).test_x[index]
    seen = _hooked(trained16.model, image)
    _, C, H, W = seen[stage].shape
    channel, row, col = channel % C, row % H, col % W
    trace = digits.stage_trace(trained16.model, image, stage)
    win = trace.window(0, channel, row, col)
    got = win.total if stage.startswith("conv") else win.result
    assert got == pytest.approx(float(seen[stage][0, channel, row, col]), abs=1e-5)
    if stage.startswith("conv"):  # what the map shows is the ReLU of that total
        relu = seen["relu" + stage[-1]][0, channel, row, col]
        assert max(0.0, got) == pytest.approx(float(relu), abs=1e-5)


def test_stage_errors(trained):
    image = digits.load_data(8).test_x[0]
    with pytest.raises(ExplorerError, match="no window"):
        digits.stage_trace(trained.model, image, "relu1")
    trace = digits.stage_trace(trained.model, image, "conv1")
    with pytest.raises(ExplorerError):
        digits.window_cells(trace, 8, 0, 0)


def test_window_cells_name_the_cells_a_cell_reads(trained):
    image = digits.load_data(8).test_x[0]
    conv1 = digits.stage_trace(trained.model, image, "conv1")
    channels, cells = digits.window_cells(conv1, 3, 0, 0)
    # a 3x3 kernel with padding 1 at the corner reads rows -1..1 and columns -1..1 of the input
    assert channels == [0]
    assert sorted(cells) == [(r, c) for r in (-1, 0, 1) for c in (-1, 0, 1)]
    conv2 = digits.stage_trace(trained.model, image, "conv2")
    channels, cells = digits.window_cells(conv2, 5, 2, 1)
    assert channels == list(range(8))
    assert sorted(cells) == [(r, c) for r in (1, 2, 3) for c in (0, 1, 2)]
    pool2 = digits.stage_trace(trained.model, image, "pool2")
    channels, cells = digits.window_cells(pool2, 7, 1, 0)
    # a 2x2 max pool of stride 2: output (1, 0) reads rows 2..3 and columns 0..1 of its channel
    assert channels == [7] and sorted(cells) == [(2, 0), (2, 1), (3, 0), (3, 1)]
    assert digits.source_stage("conv1") == "input" and digits.source_stage("conv2") == "pool1"
    assert digits.source_stage("pool2") == "relu2"


def test_misread_lists_exactly_the_wrong_answers(trained):
    data = digits.load_data(8)
    wrong = digits.misread(trained.model, data)
    assert len(wrong) == 359 - round(trained.test_accuracy * 359) > 0
    for i, truth, answer in wrong:
        assert truth == int(data.test_y[i]) != answer
        assert answer == int(digits.predict(trained.model, data.test_x[i]).argmax())


def test_confusion_counts_every_test_image_once(trained):
    data = digits.load_data(8)
    counts = digits.confusion(trained.model, data)
    assert counts.shape == (10, 10) and int(counts.sum()) == 359
    assert int(counts.trace()) == round(trained.test_accuracy * 359)
    assert counts.sum(1).tolist() == torch.bincount(data.test_y, minlength=10).tolist()


# -- uploads ----------------------------------------------------------------------------------------
def _png(draw_fn, size=(60, 80), background=255):
    img = Image.new("L", size, background)
    draw_fn(ImageDraw.Draw(img))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_an_uploaded_ink_drawing_becomes_bright_strokes_on_black():
    data = _png(lambda d: d.line([(30, 5), (30, 75)], fill=0, width=12))   # a "1", dark ink on white
    image = digits.prepare_upload(load_image(data, 8, 1), 8, invert=True)
    assert image.shape == (1, 8, 8) and image.dtype == torch.float32
    assert float(image.min()) == 0.0 and float(image.max()) == 1.0
    # 60x80 resizes to 6x8 and is centred: one empty column each side; the stroke is in the middle
    assert torch.all(image[0, :, 0] == 0) and torch.all(image[0, :, 7] == 0)
    column_mass = image[0].sum(0)
    assert int(column_mass.argmax()) in (3, 4)


def test_an_upload_without_inverting_keeps_bright_strokes():
    data = _png(lambda d: d.ellipse([10, 10, 50, 70], outline=255, width=8), background=0)
    image = digits.prepare_upload(load_image(data, 16, 1), 16, invert=False)
    assert image.shape == (1, 16, 16)
    assert float(image[0, 8, 8]) < 0.2          # the hole of the 0 stays dark
    assert float(image.max()) == 1.0


def test_a_blank_upload_is_refused():
    data = _png(lambda d: None)
    with pytest.raises(ExplorerError, match="flat colour"):
        digits.prepare_upload(load_image(data, 8, 1), 8, invert=True)


@pytest.mark.parametrize("data, message", [(b"", "empty"), (b"not an image at all", "not an image"),
                                           (b"GIF89a" + b"\0" * 40, "not an image")])
def test_files_that_are_not_images_are_refused(data, message):
    with pytest.raises(ExplorerError, match=message):
        load_image(data, 8, 1)


def test_an_image_larger_than_the_canvas_is_refused():
    with pytest.raises(ExplorerError, match="at most 8×8"):
        digits.prepare_upload(torch.rand(1, 10, 10), 8, invert=False)


# -- the snippet ------------------------------------------------------------------------------------
@pytest.mark.parametrize("stage, cell", [("conv1", (2, 0, 7)), ("conv2", (9, 3, 1)), ("pool1", (4, 1, 2))])
def test_the_snippet_prints_the_cell(trained, stage, cell):
    image = digits.load_data(8).test_x[11]
    trace = digits.stage_trace(trained.model, image, stage)
    code = digits.stage_snippet(trained.model, stage, trace, *cell)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    printed = [float(v) for v in out.stdout.split()]
    win = trace.window(0, *cell)
    if stage.startswith("conv"):
        assert printed == pytest.approx([win.total, max(0.0, win.total)], abs=1e-5)
    else:
        assert printed == pytest.approx([win.result], abs=1e-7)


def test_the_same_seed_gives_the_same_network_whatever_the_thread_count():
    import threading
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        a = digits.train(digits.TrainConfig(seed=5, epochs=2))
        assert torch.get_num_threads() == 2                       # given back after training
        torch.set_num_threads(1)
        b = digits.train(digits.TrainConfig(seed=5, epochs=2))
        for name, p in a.model.state_dict().items():
            assert torch.equal(p, b.model.state_dict()[name])
        torch.set_num_threads(2)
        runs = [threading.Thread(target=digits.train, args=(digits.TrainConfig(seed=s, epochs=1),)) for s in (6, 7)]
        for t in runs:
            t.start()
        for t in runs:
            t.join()
        assert torch.get_num_threads() == 2                       # overlapping trainings restore it once
    finally:
        torch.set_num_threads(n)
