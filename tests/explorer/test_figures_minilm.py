"""MiniLM figures draw what they claim: the model view is the model's own attentions, a thumbnail click
carries its (layer, head), and the query view shows the trace's q, k, scores and weights."""

import numpy as np
import pytest

from explorer import minilm
from explorer.figures import minilm as fm
from plotly_data import array


@pytest.fixture(scope="module")
def encoded():
    tokenizer, model = minilm.load()
    return model, minilm.encode(tokenizer, model, "The cat sat on the mat because it was tired.")


def _tile(fig, layer, head, shown):
    """The thumbnail of (layer, head): `shown` x `shown` cells, one empty cell between thumbnails."""
    (maps,) = [d for d in fig.data if d.type == "heatmap"]
    z = array(maps.z)
    r, c = layer * (shown + 1), head * (shown + 1)
    return z[r:r + shown, c:c + shown], z


def test_model_view_draws_every_head_of_every_layer(encoded):
    _, enc = encoded
    fig = fm.model_view(enc.attentions, (3, 7))
    L = enc.attentions[0].shape[-1]
    for layer in (0, 3, 5):
        for head in (0, 7, 11):
            tile, _ = _tile(fig, layer, head, L)
            assert np.allclose(tile, enc.attentions[layer][0, head].numpy(), atol=1e-6)
    _, z = _tile(fig, 0, 0, L)
    assert z.shape == (6 * (L + 1) - 1, 12 * (L + 1) - 1)
    assert np.isnan(z[L]).all() and np.isnan(z[:, L]).all()          # the gaps between thumbnails
    (frame,) = [d for d in fig.data if d.name == "selected head"]
    # the frame runs round the tile of layer 3, head 7, on the cells' outer edges
    assert (min(frame.x), max(frame.x)) == (7 * (L + 1) - 0.5, 7 * (L + 1) + L - 0.5)
    assert (min(frame.y), max(frame.y)) == (3 * (L + 1) - 0.5, 3 * (L + 1) + L - 0.5)
    assert fig.layout.meta["thinned"] is False
    assert list(fig.layout.yaxis.ticktext) == [f"layer {i}" for i in range(6)]


def test_a_thumbnail_click_carries_its_layer_and_head(encoded):
    _, enc = encoded
    fig = fm.model_view(enc.attentions)
    L = enc.attentions[0].shape[-1]
    (targets,) = [d for d in fig.data if d.name == "select a head"]
    points = {tuple(c): (x, y) for c, x, y in zip(targets.customdata, targets.x, targets.y)}
    assert len(points) == 72
    x, y = points[(4, 2)]
    # the marker sits in the middle of its own thumbnail
    assert 2 * (L + 1) <= x <= 2 * (L + 1) + L - 1 and 4 * (L + 1) <= y <= 4 * (L + 1) + L - 1
    assert not [d for d in fig.data if d.name == "selected head"]


def test_long_sentences_are_thinned_in_the_thumbnails(encoded):
    model, _ = encoded
    tokenizer, _ = minilm.load()
    enc = minilm.encode(tokenizer, model, " ".join(["word"] * 40))
    fig = fm.model_view(enc.attentions)
    z, _ = _tile(fig, 0, 0, fm.MAX_THUMB)
    assert fig.layout.meta["thinned"] is True and fig.layout.meta["tokens"] == 42
    assert fig.layout.meta["shown"] == fm.MAX_THUMB
    assert np.allclose(z[0, 0], float(enc.attentions[0][0, 0, 0, 0]), atol=1e-6)
    assert np.allclose(z[-1, -1], float(enc.attentions[0][0, 0, -1, -1]), atol=1e-6)


def test_query_view_shows_the_trace_numbers_and_steps_every_query(encoded):
    model, enc = encoded
    trace = minilm.trace_layer(model, enc, 2)
    fig = fm.query_view(trace, enc.tokens, head=5, selected=8)
    by_name = {d.name: d for d in fig.data}
    assert np.allclose(array(by_name["q"].z)[0], trace.q[0, 5, 8].numpy(), atol=1e-6)
    assert np.allclose(array(by_name["k"].z), trace.k[0, 5].numpy(), atol=1e-6)
    assert np.allclose(array(by_name["score"].x), trace.scores[0, 5, 8].numpy(), atol=1e-6)
    assert np.allclose(array(by_name["weight"].x), trace.weights[0, 5, 8].numpy(), atol=1e-6)
    assert len(fig.frames) == len(enc.tokens)
    assert fig.layout.sliders[0].active == 8
    last = fig.frames[-1]                              # query [SEP]: its q, scores and weights
    assert list(last.traces) == [0, 2, 3]
    assert np.allclose(last.data[1].x, trace.scores[0, 5, -1].numpy(), atol=1e-4)
    assert np.allclose(last.data[2].x, trace.weights[0, 5, -1].numpy(), atol=1e-5)


def test_preview_is_small(encoded):
    fig = fm.preview()
    assert fig.layout.height == 150 and len(fig.data) == 6
