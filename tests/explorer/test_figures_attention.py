"""Attention figures draw the trace's numbers: the right cells, lines, frames and shapes."""
import math

import numpy as np
import pytest
import torch

from explorer.attention import entropy_curve, temperature, trace_attention
from explorer.errors import ExplorerError
from explorer.examples import attention as ex
from explorer.figures import attention as fa
from plotly_data import array


@pytest.fixture(scope="module")
def padded():
    """Two sentences, the second padded: a 4-head trace whose batch 1 has masked keys."""
    s = ex.embed_sentences(["the cat sat on the mat .", "the cat ."], 8)
    t = trace_attention(ex.make_layer("multihead", 8, 4, seed=2), s.x, key_padding_mask=s.key_padding_mask)
    return t, s.tokens


@pytest.fixture(scope="module")
def causal():
    x = ex.embed_sentences("attention is all you need", 6).x
    return trace_attention(ex.make_layer("additive", 6, seed=1), x, is_causal=True)


def _heatmaps(fig):
    return [d for d in fig.data if d.type == "heatmap"]


def test_weights_heatmap_draws_one_head_with_tokens(padded):
    t, tokens = padded
    fig = fa.weights_heatmap(t, 0, 2, tokens[0], tokens[0], selected=3)
    (hm,) = _heatmaps(fig)
    assert np.allclose(np.array(hm.z, dtype=float), t.weights[0, 2].numpy(), atol=1e-7)
    assert list(fig.layout.yaxis.ticktext) == tokens[0]  # both "the" rows keep their own tick
    (box,) = fig.layout.shapes
    assert (box.y0, box.y1) == (2.5, 3.5)
    assert tuple(hm.customdata[0][4]) == ("the", "the", 0, 4)


def test_mean_heatmap_is_what_the_module_returns(padded):
    t, tokens = padded
    hm = _heatmaps(fa.weights_heatmap(t, 1, None))[0]
    assert np.allclose(np.array(hm.z, dtype=float), t.module_weights[1].numpy(), atol=1e-6)
    assert "mean over heads" in fa.weights_heatmap(t, 1, None).layout.title.text


def test_heads_grid_has_every_head_and_the_mean(padded):
    t, tokens = padded
    maps = _heatmaps(fa.heads_grid(t, 0, tokens[0], tokens[0]))
    assert len(maps) == t.num_heads + 1
    for h in range(t.num_heads):
        assert np.allclose(np.array(maps[h].z, dtype=float), t.weights[0, h].numpy(), atol=1e-7)


def _line_count(frame_data):
    """Number of drawn (query, key) segments in a frame's bin traces."""
    return sum(list(d.x).count(None) for d in frame_data if d.x is not None)


def test_lines_view_has_a_frame_per_query_and_no_line_to_padding(padded):
    t, tokens = padded
    fig = fa.lines_view(t, 1, 0, tokens[1], tokens[1], selected=1)
    L = t.tgt_len
    assert len(fig.frames) == L and fig.layout.sliders[0].active == 1
    w = t.weights[1, 0].numpy()
    for i, frame in enumerate(fig.frames):
        assert _line_count(frame.data) == int((w[i] > 0).sum()) == 3  # "the cat ." then 4 pads
    key_sizes = array(fig.frames[0].data[-1].marker.size)
    assert key_sizes[0] > key_sizes[-1] == 8  # padded key: weight 0, smallest marker
    widths = [d.line.width for d in fig.data[fa.N_BINS:2 * fa.N_BINS]]
    assert widths == sorted(widths) and widths[0] < widths[-1]
    background = sum(list(d.x).count(None) for d in fig.data[:fa.N_BINS])
    assert background == int((w > 0).sum())


def test_lines_view_starts_on_the_selected_query(padded):
    t, tokens = padded
    fig = fa.lines_view(t, 0, 3, tokens[0], tokens[0], selected=4)
    assert list(array(fig.data[-2].marker.size)).index(18) == 4
    with pytest.raises(ExplorerError, match="selected query 9"):
        fa.lines_view(t, 0, 0, selected=9)


def test_scores_vs_weights_marks_minus_infinity(padded):
    t, tokens = padded
    fig = fa.scores_vs_weights(t, 1, 0, tokens[1], tokens[1])
    scores, overlay, weights = fig.data
    masked = np.isneginf(t.scores[1, 0].numpy())
    assert masked.sum() == 7 * 4
    assert (np.array(overlay.text) == "−∞").sum() == masked.sum()
    assert np.isnan(np.array(scores.z, dtype=float)[masked]).all()
    assert (np.array(weights.z, dtype=float)[masked] == 0).all()
    assert scores.texttemplate == weights.texttemplate == "%{z:.2f}"
    compact = fa.scores_vs_weights(t, 1, 0, tokens[1], tokens[1], decimals=1)
    assert compact.data[0].texttemplate == compact.data[2].texttemplate == "%{z:.1f}"


def test_causal_additive_figures(causal):
    fig = fa.scores_vs_weights(causal, 0, 0)
    masked = np.isneginf(causal.scores[0, 0].numpy())
    assert (np.array(fig.data[1].text) == "−∞").sum() == masked.sum() == 10  # 5 tokens: 4+3+2+1 above the diagonal
    assert "additive" in fig.layout.title.text
    texts = [a.text for a in fa.pipeline(causal).layout.annotations if a.text]
    assert any("tanh" in s and "[1×5×5×6]" in s for s in texts)


def test_pipeline_shows_every_stage_with_its_shape(padded):
    t, _ = padded
    texts = [a.text for a in fa.pipeline(t).layout.annotations if a.text]
    stages = t.stages()
    assert len(texts) == len(stages)
    for text, stage in zip(texts, stages):
        assert stage.formula in text and "×".join(map(str, stage.shape)) in text
    assert "[2×4×7×7]" in texts[4]


def test_positional_heatmap_is_the_encoding():
    pe = ex.positional_encoding(10, 12)
    (hm,) = fa.positional_heatmap(pe).data
    z = np.array(hm.z, dtype=float)
    assert z.shape == (10, 12) and z[3, 0] == pytest.approx(math.sin(3), abs=1e-6)
    with pytest.raises(ExplorerError, match="3 position tokens for 10"):
        fa.positional_heatmap(pe, tokens=["a", "b", "c"])


def test_entropy_vs_scale_frames_follow_the_multiplier(padded):
    t, tokens = padded
    mults = [0.25, 1.0, 4.0]
    fig = fa.entropy_vs_scale(t, 0, 1, tokens[0], tokens[0], multipliers=mults, selected=1.0)
    assert len(fig.frames) == 3 and fig.layout.sliders[0].active == 1
    heat, bars, uniform, curve, marker = fig.data[:5]
    y = array(curve.y)
    assert np.allclose(y, entropy_curve(t, mults, 0, 1).numpy())
    assert y[0] > y[1] > y[2]
    assert np.allclose(array(fig.frames[1].data[0].z), t.weights[0, 1].numpy(), atol=1e-7)
    assert np.allclose(array(fig.frames[2].data[0].z), temperature(t, 4.0).weights[0, 1].numpy())
    # the bars are each row's entropy -sum w log w at that multiplier, the ticks a uniform row's log(7)
    w4 = temperature(t, 4.0).weights[0, 1].double().numpy()
    assert np.allclose(array(fig.frames[2].data[1].x), -(w4 * np.log(w4)).sum(-1))
    assert np.allclose(array(uniform.x), math.log(7))
    assert np.allclose(array(bars.x), array(fig.frames[1].data[1].x))  # drawn at the layer's own scale
    assert list(array(marker.x)) == [1.0]
    labels = {d.text[1] for d in fig.data if d.type == "scatter" and d.mode == "lines+text"}
    assert labels == {"1/√d", "no 1/√d"}


def test_big_heatmaps_are_thinned():
    q, k, v = ex.random_inputs(1, 100, 90, 8, seed=0)
    t = trace_attention(ex.make_layer("multihead", 8, 2), q, k, v)
    hm = _heatmaps(fa.weights_heatmap(t))[0]
    z = np.array(hm.z, dtype=float)
    assert z.shape == (fa.MAX_SIDE, fa.MAX_SIDE)
    assert z[-1, -1] == pytest.approx(float(t.weights[0, 0, 99, 89]))


def test_bad_indices_and_tokens(padded):
    t, tokens = padded
    with pytest.raises(ExplorerError, match="batch index 2"):
        fa.weights_heatmap(t, 2)
    with pytest.raises(ExplorerError, match="head index 4"):
        fa.scores_vs_weights(t, 0, 4)
    with pytest.raises(ExplorerError, match="3 query tokens for 7"):
        fa.weights_heatmap(t, 0, 0, tokens[0][:3])


def test_click_targets_and_masked_cells_on_the_heatmap(padded):
    t, tokens = padded
    fig = fa.weights_heatmap(t, 0, 1, tokens[0], tokens[0], clickable=True, blocked=[(2, 5)])
    cells = next(d for d in fig.data if d.name == "cells")
    assert len(cells.customdata) == 7 * 7
    k = list(map(tuple, cells.customdata)).index((2, 5))
    assert (cells.x[k], cells.y[k]) == (5, 2)  # x is the key, y the query
    assert f"{float(t.weights[0, 1, 2, 5]):.4f}" in cells.text[k]
    outline = next(d for d in fig.data if d.name == "masked by click")
    xs = [v for v in outline.x if v is not None]
    assert min(xs) == pytest.approx(5 - 0.42) and max(xs) == pytest.approx(5 + 0.42)
    plain = fa.weights_heatmap(t, 0, 1)
    assert [d.type for d in plain.data] == ["heatmap"]


def test_renormalized_row_divides_by_what_the_mask_keeps():
    x = ex.embed_sentences("one two three four", 8).x
    m = ex.make_layer("multihead", 8, 2, seed=5, dtype=torch.float32)
    t = trace_attention(m, x, attn_mask=ex.custom_mask([(3, 1), (3, 2)], 4, 4))
    fig = fa.renormalized_row(t, 0, 1, 3, key_tokens=["one", "two", "three", "four"])
    without, with_mask = (array(d.y) for d in fig.data)
    # without the mask: softmax of the scaled raw scores, computed here from the trace's raw scores
    s = t.raw_scores[0, 1, 3].double() * t.scale
    expected = torch.softmax(s, -1).numpy()
    assert np.allclose(without, expected, atol=1e-6)
    kept = expected[0] + expected[3]
    assert np.allclose(with_mask, [expected[0] / kept, 0, 0, expected[3] / kept], atol=1e-6)
    assert list(fig.data[1].text)[1:3] == ["−∞ → 0", "−∞ → 0"]
    assert f"×{1 / kept:.3g}" in fig.layout.title.text


def test_pipeline_matrices_show_one_head(padded):
    t, tokens = padded
    fig = fa.pipeline_matrices(t, 1, 3, tokens[1], tokens[1])
    q, kt, scores, overlay, w, v, out = fig.data
    assert np.allclose(np.array(q.z, dtype=float), t.q[1, 3].numpy())
    assert np.allclose(np.array(kt.z, dtype=float), t.k[1, 3].numpy().T)
    assert np.allclose(np.array(v.z, dtype=float), t.v[1, 3].numpy())
    assert np.allclose(np.array(out.z, dtype=float), t.head_outputs[1, 3].numpy())
    masked = np.isneginf(t.scores[1, 3].numpy())
    assert np.isnan(np.array(scores.z, dtype=float)[masked]).all() and masked.sum() == 7 * 4
    assert np.allclose(np.array(w.z, dtype=float), t.weights[1, 3].numpy())
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("Q ") and "(7×2)" in titles[0] and "√2" in titles[2]


def test_input_vectors_add_the_positional_encoding():
    s = ex.embed_sentences("a b a", 6)
    emb = s.embedding.weight[s.ids[0]].detach()
    pe = ex.positional_encoding(3, 6)
    fig = fa.input_vectors(emb, pe, s.tokens[0])
    a, b, c = (np.array(d.z, dtype=float) for d in fig.data)
    assert np.allclose(a[0], a[2])  # the same word, the same embedding row ...
    assert not np.allclose(c[0], c[2])  # ... but a different input once its position is added
    assert np.allclose(c, s.x[0].numpy(), atol=1e-6) and np.allclose(b, pe.numpy())
    only = fa.input_vectors(emb, None, s.tokens[0])
    assert len(only.data) == 1 and "no positional encoding" in only.layout.title.text


def test_heads_grid_without_the_mean(padded):
    t, tokens = padded
    assert len(_heatmaps(fa.heads_grid(t, 0, show_mean=False))) == t.num_heads


def test_lines_view_hover_lists_the_whole_row(padded):
    t, tokens = padded
    fig = fa.lines_view(t, 0, 2, tokens[0], tokens[0])
    queries = next(d for d in fig.data if d.name == "queries")
    rows = queries.customdata[1].split("<br>")
    w = t.weights[0, 2, 1]
    assert len(rows) == 7
    assert rows[0] == f"{tokens[0][int(w.argmax())]}: {float(w.max()):.3f}"


def test_preview_is_a_small_causal_map():
    fig = fa.preview()
    (hm,) = fig.data
    z = np.array(hm.z, dtype=float)
    assert fig.layout.height == 150 and np.allclose(np.triu(z, 1), 0) and np.allclose(z.sum(1), 1)


def test_big_grids_carry_indices_not_labels():
    q, k, v = ex.random_inputs(1, 30, 30, 8, seed=0)
    t = trace_attention(ex.make_layer("multihead", 8, 2), q, k, v)
    fig = fa.weights_heatmap(t, 0, 1, clickable=True)
    hm, cells = fig.data
    custom = array(hm.customdata) if isinstance(hm.customdata, dict) else np.asarray(hm.customdata)
    assert custom.shape == (30, 30, 2) and tuple(custom[4, 7]) == (4, 7)
    targets = np.asarray(cells.customdata, dtype=float)
    n = list(map(tuple, targets[:, :2].astype(int))).index((4, 7))
    assert targets[n, 2] == pytest.approx(float(t.weights[0, 1, 4, 7]), abs=5e-5) and cells.text is None
    grid = fa.heads_grid(t, 0)
    assert "evenly spread subset" not in (grid.layout.title.text or "")
    big = trace_attention(ex.make_layer("multihead", 8, 2), *ex.random_inputs(1, 40, 40, 8, seed=0))
    grid = fa.heads_grid(big, 0)
    assert np.array(grid.data[0].z, dtype=float).shape == (fa.MAX_GRID_SIDE, fa.MAX_GRID_SIDE)
    assert "evenly spread subset" in grid.layout.title.text
