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


def test_model_view_draws_every_head_of_every_layer(encoded):
    _, enc = encoded
    fig = fm.model_view(enc.attentions, (3, 7))
    maps = {d.name: d for d in fig.data if d.type == "heatmap"}
    assert len(maps) == 72
    for layer in (0, 3, 5):
        for head in (0, 7, 11):
            assert np.allclose(array(maps[f"layer {layer} head {head}"].z),
                               enc.attentions[layer][0, head].numpy(), atol=1e-6)
    (frame,) = [d for d in fig.data if d.name == "selected head"]
    assert frame.xaxis == maps["layer 3 head 7"].xaxis
    assert fig.layout.meta["thinned"] is False


def test_a_thumbnail_click_carries_its_layer_and_head(encoded):
    _, enc = encoded
    fig = fm.model_view(enc.attentions)
    target = next(d for d in fig.data if d.name == "select layer 4 head 2")
    assert list(target.customdata) == [[4, 2]]
    assert target.xaxis == next(d for d in fig.data if d.name == "layer 4 head 2").xaxis
    assert not [d for d in fig.data if d.name == "selected head"]


def test_long_sentences_are_thinned_in_the_thumbnails(encoded):
    model, _ = encoded
    tokenizer, _ = minilm.load()
    enc = minilm.encode(tokenizer, model, " ".join(["word"] * 40))
    fig = fm.model_view(enc.attentions)
    z = array(next(d for d in fig.data if d.name == "layer 0 head 0").z)
    assert z.shape == (fm.MAX_THUMB, fm.MAX_THUMB)
    assert fig.layout.meta["thinned"] is True and fig.layout.meta["tokens"] == 42
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
