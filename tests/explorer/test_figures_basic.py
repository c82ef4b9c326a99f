"""The building-block figures draw the trace's own numbers in the right places."""
import numpy as np
import pytest
import torch
from torch import nn

from explorer import ExplorerError
from explorer.basic import dropout_expectation, trace_activation, trace_dropout, trace_embedding, trace_linear
from explorer.examples import basic as ex
from explorer.figures import basic as fb
from plotly_data import array


def _named(fig, name):
    found = [d for d in fig.data if d.name == name]
    assert len(found) == 1, f"expected one trace named {name!r}, got {[d.name for d in fig.data]}"
    return found[0]


def test_linear_figure_outlines_row_j_and_draws_its_products():
    # mix 3→2, j = 1: W[1] = [0.5, 0.5, 0], x = [2, 4, 1] -> products [1, 2, 0], plus b = 1 gives 4
    m, (x,) = ex.linear_preset("mix 3→2")
    fig = fb.linear_figure(trace_linear(m, x), n=0, j=1)
    assert np.array_equal(_named(fig, "weights").z, m.weight.detach().numpy())
    assert list(_named(fig, "input").z[0]) == [2.0, 4.0, 1.0]
    assert list(_named(fig, "products").y) == [1.0, 2.0, 0.0]
    box = _named(fig, "selected row")
    assert list(box.y) == [0.5, 0.5, 1.5, 1.5, 0.5] and (min(box.x), max(box.x)) == (-0.5, 2.5)
    assert list(_named(fig, "selected output").y) == [0.5, 0.5, 1.5, 1.5, 0.5]
    assert "= 4 " in fig.layout.title.text


def test_big_linear_figure_is_cut_down_but_keeps_the_selected_row():
    m = ex.seeded_linear(100, 70, seed=2)
    x = ex.random_values((3, 100), seed=2)
    t = trace_linear(m, x)
    fig = fb.linear_figure(t, n=2, j=69)
    w = _named(fig, "weights").z
    assert w.shape[0] <= fb.MAX_SIDE + 1 and w.shape[1] <= fb.MAX_SIDE
    cols = list(_named(fig, "products").customdata)
    assert cols[0] == 0 and cols[-1] == 99
    assert np.allclose(_named(fig, "products").y, (x[2, cols] * m.weight[69, cols]).detach().numpy())
    assert np.allclose(w[-1], m.weight[69, cols].detach().numpy())            # row 69 is the last row shown
    assert list(_named(fig, "selected row").y)[:2] == [w.shape[0] - 1.5] * 2
    assert "(showing 48 of 70 outputs, 48 of 100 inputs)" in fig.layout.annotations[0].text


def test_bilinear_figure_products_are_x1_a_x2():
    m = ex.seeded_bilinear(3, 4, 2, seed=1)
    x1, x2 = ex.random_values((3,), 1), ex.random_values((4,), 2)
    t = trace_linear(m, x1, x2)
    fig = fb.linear_figure(t, j=1)
    products = _named(fig, "products").z
    assert np.allclose(products, (x1[:, None] * m.weight[1] * x2[None, :]).detach().numpy())
    assert products.sum() + float(m.bias.detach()[1]) == pytest.approx(float(t.output[1]))


def test_embedding_figure_marks_looked_up_rows_and_padding():
    m = ex.seeded_embedding(len(ex.VOCAB), 4, padding_idx=ex.PAD_ID, seed=3)
    t = trace_embedding(m, ex.parse_ids(ex.SENTENCE, len(ex.VOCAB), vocab=ex.VOCAB))
    fig = fb.embedding_figure(t, labels=ex.VOCAB)
    outlined = {round(y + 0.5) for y in _named(fig, "looked up").y[0::6]}   # each cell: top edge first
    assert outlined == set(t.looked_up.tolist()) == {0, 1, 2, 4, 6, 8}
    pad = _named(fig, "padding row").z
    assert np.isnan(pad[0]).sum() == 0 and len(pad) == 1                     # exactly row 0 shaded
    assert np.array_equal(_named(fig, "output").z, t.output.numpy())
    assert list(_named(fig, "padding tokens").z[:, 0][6:]) == [1.0, 1.0]
    assert fig.layout.yaxis.ticktext[2] == "2: cat"


def test_embedding_figure_of_a_big_table_keeps_the_rows_that_matter():
    t = trace_embedding(nn.Embedding(1000, 3, padding_idx=500), torch.tensor([[7, 999], [500, 7]]))
    fig = fb.embedding_figure(t)
    labels = list(fig.layout.yaxis.ticktext)
    assert {"7", "999", "500"} <= set(labels) and len(labels) <= fb.MAX_SIDE + 3
    assert list(fig.layout.yaxis2.ticktext) == ["(0, 0) → 7", "(0, 1) → 999", "(1, 0) → 500", "(1, 1) → 7"]


def test_renorm_figure_shows_norms_before_and_after():
    m = nn.Embedding(3, 2, max_norm=1.0).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[3.0, 4.0], [0.3, 0.4], [1.0, 0.0]]))
    t = trace_embedding(m, torch.tensor([0, 1]))
    fig = fb.renorm_figure(t)
    assert list(_named(fig, "norm before").y) == pytest.approx([5.0, 0.5])
    assert list(_named(fig, "norm after").y) == pytest.approx([1.0, 0.5], abs=1e-6)
    assert fig.layout.shapes[0].y0 == 1.0
    with pytest.raises(ExplorerError):
        fb.renorm_figure(trace_embedding(nn.Embedding(3, 2), torch.tensor([0])))


def test_dropout_figure_shows_mask_scaled_output_and_eval_identity():
    t = trace_dropout(ex.dropout_layer(0.5), torch.tensor(ex.NOTES_DROPOUT_INPUT), seed=ex.NOTES_DROPOUT_SEED)
    fig = fb.dropout_figure(t)
    assert list(_named(fig, "mask").z[0]) == [1, 0, 0, 1, 0]
    assert list(_named(fig, "train output").z[0]) == [2, 0, 0, 8, 0]
    assert list(_named(fig, "eval output").z[0]) == [1, 2, 3, 4, 5]
    assert list(np.nonzero(~np.isnan(_named(fig, "dropped").z[0]))[0]) == [1, 2, 4]
    eval_fig = fb.dropout_figure(trace_dropout(ex.dropout_layer(0.5, training=False), torch.ones(2, 3)))
    assert [d.name for d in eval_fig.data] == ["input", "eval output"]


def test_dropout_mean_figure_follows_the_running_mean():
    x = torch.arange(1.0, 4.0, dtype=torch.float64)
    mean = dropout_expectation(ex.dropout_layer(0.5), x, samples=1000, seed=2)
    fig = fb.dropout_mean_figure(mean)
    for i in range(3):
        line = _named(fig, f"mean of x[{i}]")
        assert (line.x[0], line.x[-1]) == (1, 1000)
        assert line.y[-1] == pytest.approx(float(mean.running_mean[-1, i]))
        assert line.y[0] == pytest.approx(float(mean.running_mean[0, i]))
    assert sorted(s.y0 for s in fig.layout.shapes) == [1.0, 2.0, 3.0]           # a dashed line at each x_i
    assert _named(fig, "largest gap").y[-1] == pytest.approx(float(mean.gap[-1]))


def test_activation_figure_places_inputs_on_curve_and_shades_saturation():
    x = ex.parse_values(ex.ACTIVATION_INPUT)
    t = trace_activation(nn.Tanh(), x)
    fig = fb.activation_figure(t)
    assert np.allclose(_named(fig, "inputs").y, t.output.numpy())
    assert np.allclose(_named(fig, "input slopes").y, t.derivative.numpy())
    assert np.allclose(_named(fig, "f").y, t.curve.y.numpy())
    assert len(t.curve.saturated) == 2 and len(fig.layout.shapes) == 4        # both runs, on both rows
    (lo, hi), rect = t.curve.saturated[0], fig.layout.shapes[0]
    assert rect.x0 <= lo and hi <= rect.x1 <= hi + 0.03
    colors = list(_named(fig, "inputs").marker.color)
    assert colors[0] != colors[4]                              # tanh'(-4) = 0.0013 is saturated, tanh'(0) = 1 is not


def test_softmax_figure_marks_only_the_swept_entry():
    t = trace_activation(nn.Softmax(dim=-1), ex.parse_values(ex.SOFTMAX_INPUT), swept=(1,))
    fig = fb.activation_figure(t)
    markers = _named(fig, "inputs")
    assert list(markers.x) == [1.0] and list(markers.y) == pytest.approx([float(t.output[1])])
    assert "x[1]" in fig.layout.xaxis2.title.text


def test_linear_stepper_frames_follow_each_output():
    # hand example: W = [[1, 2], [3, 4]], b = [1, -1], x = [1, 1]: frame j outlines row j, bars W[j] * x
    m, (x,) = ex.linear_preset("hand example 2→2")
    fig = fb.linear_stepper(trace_linear(m, x), j=1)
    assert [f.name for f in fig.frames] == ["0", "1"] and fig.layout.sliders[0].active == 1
    bars = [next(d for d in f.data if d.type == "bar").y for f in fig.frames]
    assert [list(b) for b in bars] == [[1.0, 2.0], [3.0, 4.0]]
    boxes = [f.data[0].y for f in fig.frames]
    assert [list(b)[:2] for b in boxes] == [[-0.5, -0.5], [0.5, 0.5]]
    assert fig.frames[0].layout.title.text.startswith("y[0] = Σ products + b = 3 + 1 = 4")
    assert fig.frames[1].layout.title.text.startswith("y[1] = Σ products + b = 7 + -1 = 6")


def test_bilinear_stepper_frames_swap_the_slice_a_j():
    m = ex.seeded_bilinear(2, 3, 3, seed=4)
    x1, x2 = ex.random_values((2,), 1), ex.random_values((3,), 2)
    fig = fb.linear_stepper(trace_linear(m, x1, x2))
    assert len(fig.frames) == 3
    for j, f in enumerate(fig.frames):
        a, products = f.data
        assert np.allclose(a.z, m.weight[j].detach().numpy())
        assert np.allclose(products.z, (x1[:, None] * m.weight[j] * x2[None, :]).detach().numpy())


def test_gradient_figure_gives_the_padding_row_nothing():
    m = ex.seeded_embedding(len(ex.VOCAB), 4, padding_idx=ex.PAD_ID, seed=3)
    t = trace_embedding(m, ex.parse_ids(ex.SENTENCE, len(ex.VOCAB), vocab=ex.VOCAB))
    fig = fb.gradient_figure(t, labels=ex.VOCAB)
    counts, grad = _named(fig, "times looked up"), _named(fig, "gradient")
    assert list(counts.x) == ["0: <pad>", "1: the", "2: cat", "4: sat", "6: on", "8: mat"]
    assert list(counts.y) == [2, 2, 1, 1, 1, 1]           # "the" and "<pad>" twice each
    assert list(grad.y) == [0, 2, 1, 1, 1, 1]             # ... but the padding row gets no gradient


def test_dropout_samples_player_shows_each_sample_and_the_mean_so_far():
    x = torch.arange(1.0, 6.0, dtype=torch.float64)
    mean = dropout_expectation(ex.dropout_layer(0.5), x, samples=200, seed=ex.NOTES_DROPOUT_SEED)
    fig = fb.dropout_samples_figure(mean)
    assert array(_named(fig, "sample").z).tolist() == [[2.0, 0.0, 0.0, 8.0, 0.0]]  # sample 0: the notes' mask
    assert array(_named(fig, "x").y).tolist() == [1, 2, 3, 4, 5]
    names = [int(f.name) for f in fig.frames]
    assert names[0] == 0 and names[-1] == 199 and len(names) <= fb.MAX_FRAMES
    for f in fig.frames:
        k = int(f.name)
        assert list(f.data[0].z[0]) == mean.sample(k).tolist()
        assert list(f.data[1].y) == pytest.approx(mean.running_mean[k].tolist())
    assert "After 200 sample(s)" in fig.frames[-1].layout.title.text


def test_dropout_mean_figure_ticks_are_written_out():
    mean = dropout_expectation(ex.dropout_layer(0.5), torch.arange(1.0, 4.0), samples=500, seed=1)
    fig = fb.dropout_mean_figure(mean)
    assert list(fig.layout.xaxis2.ticktext) == ["1", "2", "5", "10", "20", "50", "100", "200", "500"]
    assert all(float(t) > 0 for t in fig.layout.yaxis2.ticktext)


def test_temperature_figure_draws_the_sweep():
    from explorer.basic import temperature_sweep
    sweep = temperature_sweep(nn.Softmax(dim=-1), ex.parse_values(ex.SOFTMAX_INPUT))
    fig = fb.temperature_figure(sweep, temperature=2.0)
    lines = [d for d in fig.data if d.type == "scatter"]
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert np.allclose(line.y, sweep.probs[:, i].numpy()) and np.allclose(line.x, sweep.temperatures.numpy())
    assert [s.x0 for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1] == [2.0]
    assert lines[0].y[0] > 0.99 and abs(lines[0].y[-1] - 1 / 3) < 0.05     # T = 0.05: one-hot; T = 20: about 1/3


def test_preview_is_small_real_curves():
    fig = fb.preview()
    assert fig.layout.height == 150 and len(fig.data) == 4
    relu = fig.data[0]
    assert np.allclose(relu.y, np.maximum(relu.x, 0))
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
