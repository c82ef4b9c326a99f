"""The Normalization page's figures draw what the traces hold."""
import functools

import numpy as np
import pytest
import torch
from torch import nn

from explorer.examples import normalization as ex
from explorer.figures import normalization as fig
from explorer.normalization import trace_norm
from explorer.normalization_steps import batch_size_effect, seeded_batches, train_then_eval


@functools.lru_cache(maxsize=None)
def _traces(shape=(2, 4, 3, 3), seed=1):
    """Traces of all five layers on one input; cached, the tests only read them."""
    x = ex.random_input(shape, seed)
    return {kind: trace_norm(m, x) for kind, m in ex.five_layers(shape, seed=seed).items()}


def _drawn(heat):
    z = np.array(heat.z, dtype=float)
    return z[~np.isnan(z)]


@pytest.mark.parametrize("kind, colours", [("BatchNorm", 4), ("LayerNorm", 2), ("InstanceNorm", 8),
                                           ("GroupNorm", 4), ("RMSNorm", 2)])
def test_grouping_gives_one_colour_per_statistic(kind, colours):
    t = _traces()[kind]
    heat = fig.grouping(t).data[0]
    cells = _drawn(heat)
    assert cells.size == t.x.numel()                      # small input: every cell drawn
    assert len(np.unique(cells)) == colours == t.mean.numel()
    assert "one colour each" in fig.grouping(t).layout.title.text


def test_grouping_colours_follow_the_group_ids_cell_by_cell():
    t = _traces((2, 6, 2, 2))["GroupNorm"]
    z = np.array(fig.grouping(t).data[0].z, dtype=float)
    ids = t.ncl(t.group_ids()).numpy()                     # (N, C, L); blocks are 2x2 cells with 1-cell gaps
    for n in range(2):
        for c in range(6):
            for pos in range(4):
                assert z[n * 3 + pos // 2, c * 3 + pos % 2] == ids[n, c, pos] % len(fig.PALETTE)


def test_grouping_hover_names_the_statistic_and_its_mean():
    t = _traces()["BatchNorm"]
    hover = fig.grouping(t).data[1].text[9]                 # sample 0, channel 1, first position
    assert hover.startswith("sample 0, dim 1 = 1, position 0") and "channel 1: mean" in hover
    assert f"{float(t.mean.flatten()[1]):.6g}" in hover
    compare = fig.grouping_comparison([t]).data[0]
    assert compare.customdata[0][4] == "channel 1"          # side by side: only the statistic's name


def test_big_inputs_are_thinned():
    x = torch.randn(16, 32, 20, 20, generator=torch.Generator().manual_seed(0))
    t = trace_norm(nn.BatchNorm2d(32), x)
    heat = fig.grouping(t, max_samples=4, max_channels=8, max_cells=64).data[0]
    assert np.array(heat.z).shape == (4 * 9 - 1, 8 * 9 - 1)
    assert _drawn(heat).size == 4 * 8 * 64
    assert heat.text is None                               # too many cells to print numbers


def test_grouping_comparison_has_one_panel_per_layer():
    traces = list(_traces().values())
    f = fig.grouping_comparison(traces)
    assert len(f.data) == 5
    assert [a.text.split(":")[0] for a in f.layout.annotations] == [type(t.module).__name__ for t in traces]
    assert [len(np.unique(_drawn(h))) for h in f.data] == [t.mean.numel() for t in traces]


def test_stats_table_rows_are_the_trace_statistics():
    t = _traces()["GroupNorm"]
    rows = fig.stats_table(t)
    assert [r["statistic"] for r in rows] == t.group_labels()
    assert [r["mean"] for r in rows] == pytest.approx(t.mean.flatten().tolist())
    assert rows[0]["values"] == 2 * 9
    rms = fig.stats_table(_traces()["RMSNorm"])
    assert "mean" not in rms[0] and "mean square" in rms[0]
    assert len(fig.stats_table(_traces((2, 70, 2))["BatchNorm"], max_rows=64)) == 64


def test_stats_table_in_eval_mode_shows_both_statistics():
    m = ex.make_layer("BatchNorm", (3, 2, 4), seed=5, train=False)
    t = trace_norm(m, ex.random_input((3, 2, 4), 0))
    rows = fig.stats_table(t)
    assert rows[0]["values"] == "running" and rows[0]["mean"] == pytest.approx(float(m.running_mean[0]))
    assert rows[1]["batch mean"] == pytest.approx(float(t.x[:, 1].mean()))


def test_histograms_count_every_value():
    t = _traces()["LayerNorm"]
    f = fig.histograms(t, bins=20)
    assert len(f.data) == 3
    assert [int(sum(b.y)) for b in f.data] == [t.x.numel()] * 3
    assert min(f.data[1].x) >= float(t.normalized.min()) - 1


def test_affine_stage_lines_are_gamma_and_beta():
    t = _traces()["BatchNorm"]
    f = fig.affine_stage(t)
    gamma, beta = f.data[0], f.data[1]
    assert list(gamma.y) == pytest.approx(t.weight.tolist()) and list(beta.y) == pytest.approx(t.bias.tolist())
    for k, c in enumerate(range(4)):
        line, dots = f.data[2 + 2 * k], f.data[3 + 2 * k]
        slope = (line.y[1] - line.y[0]) / (line.x[1] - line.x[0])
        assert slope == pytest.approx(float(t.weight[c]))
        assert np.allclose(np.array(dots.y), float(t.weight[c]) * np.array(dots.x) + float(t.bias[c]), atol=1e-9)
        assert len(dots.x) == 2 * 9                          # every cell of channel c


def test_affine_stage_without_affine_is_the_identity():
    t = trace_norm(nn.LayerNorm(5, elementwise_affine=False).double(), ex.random_input((3, 5), 2))
    f = fig.affine_stage(t)
    assert list(f.data[0].y) == [1.0] * 5 and list(f.data[1].y) == [0.0] * 5


def _run():
    batches = seeded_batches((8, 3, 2, 2), 6, seed=2, mean=[1.0, 2.0, 3.0])
    return train_then_eval(nn.BatchNorm2d(3), batches, population_mean=torch.tensor([1.0, 2.0, 3.0]),
                           population_var=torch.ones(3))


def test_running_stats_figure_plots_the_run():
    run = _run()
    f = fig.running_stats(run, channel=2)
    assert list(f.data[0].y) == pytest.approx(run.running_mean[:, 2].tolist())
    assert list(f.data[1].x) == list(range(1, 7)) and list(f.data[1].y) == pytest.approx(run.batch_mean[:, 2].tolist())
    assert list(f.data[2].y) == pytest.approx(run.running_var[:, 2].tolist())
    assert [s.y0 for s in f.layout.shapes] == [3.0, 1.0]
    assert "m = 0.1" in f.layout.title.text


def test_train_vs_eval_plots_both_outputs():
    run = _run()
    f = fig.train_vs_eval(run, channel=1)
    assert [d.name.split(":")[0] for d in f.data] == ["train mode", "eval mode"]
    assert list(f.data[0].y) == pytest.approx(run.train_trace.output[:, 1].flatten().tolist())
    assert list(f.data[1].y) == pytest.approx(run.eval_trace.output[:, 1].flatten().tolist())
    assert list(f.data[0].x) == pytest.approx(run.eval_trace.x[:, 1].flatten().tolist())


def test_batch_size_noise_figure():
    e = batch_size_effect((1, 2, 8), trials=8)
    f = fig.batch_size_noise(e)
    assert len(f.data) == 6
    assert {d.name for d in f.data} == {"BatchNorm", "LayerNorm", "GroupNorm"}
    assert list(f.data[1].y) == pytest.approx(e.output_spread["BatchNorm"].tolist())
    assert f.layout.xaxis.type == "log"


def test_click_targets_name_the_cell_drawn_under_them():
    t = _traces((3, 5, 2, 3))["InstanceNorm"]
    f = fig.grouping(t, max_samples=2, max_channels=3, max_cells=4)
    heat, targets = f.data[0], f.data[1]
    z = np.array(heat.z, dtype=float)
    ids = t.group_ids()
    assert targets.name == "cells" and len(targets.x) == 2 * 3 * 4 == np.count_nonzero(~np.isnan(z))
    for col, row, index, hover in zip(targets.x, targets.y, targets.customdata, targets.text):
        index = tuple(index)
        assert z[row, col] == int(ids[index]) % len(fig.PALETTE)     # the colour under it is its statistic's
        assert f"value {float(t.x[index]):.6g}" in hover
    assert heat.hoverinfo == "skip" and heat.customdata is None      # the targets carry the hover text


def test_selection_outlines_the_cells_of_the_selected_statistic():
    t = _traces((2, 4, 2, 2))["GroupNorm"]                 # 2 groups of 2 channels: 8 cells per statistic
    f = fig.grouping(t, selected=(1, 3, 0, 1))
    same, cell = f.data[2], f.data[3]
    assert same.name == "same statistic" and cell.name == "selected cell"
    assert list(same.x).count(None) == 8                   # one closed square per cell of group (1, 1)
    # blocks are 2x2 cells with a 1-cell gap: sample 1, channel 3, position (0, 1) sits at row 3, column 10
    assert (min(v for v in cell.x if v is not None), min(v for v in cell.y if v is not None)) == (9.5, 2.5)


def test_stages_draw_input_normalized_and_output():
    t = _traces((2, 2, 2, 2))["BatchNorm"]
    f = fig.stages(t)
    assert [a.text.split(" ")[0] for a in f.layout.annotations][:3] == ["input", "x̂", "output"]
    for heat, tensor in zip(f.data, (t.x, t.normalized, t.output)):
        z = np.array(heat.z, dtype=float)
        assert np.allclose(z[0, 0:2], tensor[0, 0, 0].numpy()) and np.allclose(z[4, 3:5], tensor[1, 1, 1].numpy())
        assert heat.zmin == -heat.zmax                     # blue below 0, red above, per stage
    assert fig.stages(_traces((4, 8, 3, 3))["BatchNorm"]).data[0].texttemplate is None   # too many to print


def test_running_stepper_frames_follow_the_run():
    run = _run()
    f = fig.running_stepper(run, channel=1)
    assert len(f.frames) == 7 and [fr.name for fr in f.frames] == [str(k) for k in range(7)]
    k = 3
    frame = f.frames[k]
    running_mean, batch_mean, running_var, unbiased, biased = frame.data
    assert list(running_mean.y) == pytest.approx(run.running_mean[:k + 1, 1].tolist())
    assert list(batch_mean.x) == [k] and batch_mean.y[0] == pytest.approx(float(run.batch_mean[k - 1, 1]))
    assert unbiased.y[0] == pytest.approx(float(run.batch_var[k - 1, 1]))
    assert biased.y[0] == pytest.approx(float(run.batch_biased_var[k - 1, 1]))
    # the formula in the title has this step's numbers: (1 - 0.1) * before + 0.1 * batch = after
    title = frame.layout.title.text
    assert f"{float(run.running_mean[k, 1]):.4g}" in title and "× 32/31" in title    # 8 samples x 4 positions
    assert f.layout.sliders[0].currentvalue.prefix == "after batch "


def test_batch_size_player_steps_through_batch_sizes():
    e = batch_size_effect((1, 2, 8), trials=8, seed=1)
    f = fig.batch_size_player(e)
    assert [fr.name for fr in f.frames] == ["1", "2", "8"] and f.layout.sliders[0].active == 1
    frame = f.frames[2]
    assert list(frame.data[0].x) == pytest.approx(e.fixed_mean["BatchNorm"][2].tolist())
    assert list(frame.data[4].x) == pytest.approx(e.fixed_output["LayerNorm"][2].tolist())
    assert list(f.data[0].x) == pytest.approx(e.fixed_mean["BatchNorm"][1].tolist())   # starts at batch size 2
    assert "only sample 0 itself" in f.frames[0].layout.title.text


def test_cells_table_and_rows():
    t = trace_norm(ex.make_layer("GroupNorm", (2, 4, 2), seed=1), ex.random_input((2, 4, 2), 1))
    rows = fig.cells_table(t)
    assert len(rows) == 16 and rows[5]["index"] == "(0, 2, 1)" and rows[5]["statistic"] == "sample 0, group 1"
    assert rows[5]["output"] == pytest.approx(rows[5]["gamma"] * rows[5]["normalized"] + rows[5]["beta"])
    assert rows[5]["x"] == float(t.x[0, 2, 1]) and rows[5]["gamma"] == float(t.weight[2])
    assert len(fig.cells_table(t, max_rows=5)) == 5
    labels, cols, values = fig.as_rows(t, t.output)
    assert labels[:2] == ["n0 c0", "n0 c1"] and cols == ["0", "1"] and values.shape == (8, 2)
    ln = trace_norm(nn.LayerNorm(3).double(), torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64))
    labels, cols, values = fig.as_rows(ln, ln.x)
    assert labels == ["n0", "n1"] and values.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_preview_colours_each_layer_by_its_statistics():
    f = fig.preview()
    assert len(f.data) == 4 and f.layout.height == 150
    # (2, 4, 2, 2): BatchNorm 4 statistics, LayerNorm 2, InstanceNorm 8, GroupNorm(2) 4
    assert [len(np.unique(_drawn(h))) for h in f.data] == [4, 2, 8, 4]
    assert not f.layout.xaxis.visible
