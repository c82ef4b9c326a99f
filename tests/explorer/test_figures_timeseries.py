"""Time-series figures draw what they claim: the shapes on the arrows, each stage's numbers, the
forecast frames, and the other pages' figures relaid out without losing their data."""
import numpy as np
import pytest
import torch

from explorer import ExplorerError
from explorer.figures import attention as attention_figures
from explorer.figures import conv as conv_figures
from explorer.figures import timeseries as figures
from explorer.timeseries import TimeSeriesModel, synthetic, trace_pipeline
from explorer.timeseries_training import TrainConfig, forecast, train
from plotly_data import array


@pytest.fixture(scope="module")
def run():
    series = synthetic("sine", 120, seed=0)
    trained = train(series, TrainConfig(window=12, hidden=4, steps=30, seed=0))
    return series, trained, forecast(trained, series)


@pytest.fixture(scope="module")
def trace():
    x = torch.randn(2, 1, 10, generator=torch.Generator().manual_seed(0))
    return trace_pipeline(TimeSeriesModel(5, seed=0), x)


def _texts(fig):
    return " ".join(a.text for a in fig.layout.annotations)


def test_flow_labels_every_arrow_with_its_shape_and_the_permute(trace):
    fig = figures.flow(trace, b=1)
    text = _texts(fig)
    for shape in ("[2, 1, 10]", "[10, 2, 1]", "[10, 2, 5]", "[1, 2, 5]", "[2, 1, 5]", "[2, 1, 10]"):
        assert shape in text
    assert "seq, batch, features" in text and "batch, channels, seq" in text
    assert "permute(2, 0, 1)" in text and "LSTM(1, 5)" in text and "Linear(5, 1)" in text
    assert f"ŷ = {float(trace.output[1, 0]):.4g}" in text                    # window 1's prediction
    assert len(fig.layout.shapes) == 6                                       # six boxes


def test_stage_values_draw_each_stages_numbers(trace):
    fig = figures.stage_values(trace, b=1, steps=range(100, 110))
    z = {d.name: array(d.z) for d in fig.data}
    assert np.allclose(z["x"][0], trace.x[1, 0].numpy())
    assert np.allclose(z["d"][0], trace.conv.output[1, 0].numpy())
    assert np.allclose(z["h"], trace.lstm.output[:, 1].numpy().T)            # units down, steps across
    assert np.allclose(z["weights"][0], trace.weights(1).numpy())
    assert np.isclose(z["weights"][0].sum(), 1.0, atol=1e-6)
    assert np.allclose(z["context"][0], trace.context(1).numpy())
    assert list(fig.layout.xaxis4.ticktext)[:2] == ["100", "101"]


def test_stage_values_thin_many_units_and_refuse_bad_labels(trace):
    big = trace_pipeline(TimeSeriesModel(40, seed=1), torch.zeros(1, 1, 6))
    fig = figures.stage_values(big, max_units=8)
    h = next(d for d in fig.data if d.name == "h")
    assert array(h.z).shape == (8, 6)
    assert "8 of 40 units" in fig.layout.annotations[2].text
    with pytest.raises(ExplorerError, match="3 step labels for 10 steps"):
        figures.stage_values(trace, steps=[1, 2, 3])
    with pytest.raises(ExplorerError, match="Window 2 is out of range"):
        figures.stage_values(trace, b=2)


def test_forecast_frames_mark_each_window_its_weights_truth_and_prediction(run):
    series, trained, fc = run
    W = trained.config.window
    fig = figures.forecast(fc, series, selected=100)
    assert len(fig.frames) == min(len(fc.steps), figures.MAX_FRAMES)
    assert fig.layout.sliders[0].active == [f.name for f in fig.frames].index("100")
    frame = next(f for f in fig.frames if f.name == "100")
    window, truth, pred, bars = frame["data"]
    i = fc.index_of(100)
    assert window["x0"] == bars["x0"] == 100 - W and len(window["y"]) == len(bars["y"]) == W
    assert all(d.dx == 1 for d in fig.data if d.name in ("window it read (size = weight)", "weights"))
    assert np.allclose(window["y"], series[100 - W:100].numpy(), rtol=1e-5)
    assert np.allclose(bars["y"], fc.weights[i], atol=1e-5)
    assert truth["y"][0] == pytest.approx(float(series[100]), rel=1e-5)
    assert pred["y"][0] == pytest.approx(fc.prediction[i], rel=1e-5)
    assert list(frame["layout"]["xaxis2"]["range"]) == [100 - W - 0.5, 99.5]      # the lower panel follows
    held_out = fig.layout.shapes[-1]
    assert held_out.x0 == fc.steps[fc.n_train] - 0.5                         # shaded from the first held-out
    line = next(d for d in fig.data if d.name == "one-step prediction")
    assert np.allclose(array(line.y), fc.prediction)


def test_forecast_caps_frames_and_thins_a_long_series():
    series = synthetic("steps", 3000, seed=2)
    trained = train(series, TrainConfig(window=8, hidden=2, steps=0))
    fc = forecast(trained, series)
    fig = figures.forecast(fc, series, max_frames=50, max_points=500)
    assert len(fig.frames) == 50
    drawn = next(d for d in fig.data if d.name == "series")
    assert len(array(drawn.x)) == 500
    assert len(fig.to_json()) < 500_000


def test_stacked_stepper_puts_each_output_under_its_window(trace):
    fig = figures.stacked_stepper(conv_figures.stepper(trace.conv, 0, 0, 0))
    assert fig.layout.xaxis3.matches == "x"
    assert list(fig.layout.xaxis.domain) == list(fig.layout.xaxis3.domain) == [0, 1]
    assert fig.layout.yaxis.domain[0] > fig.layout.yaxis2.domain[1] > fig.layout.yaxis3.domain[1]
    last = fig.frames[-1]["data"][0]["z"]                                    # the stepper's own frames, kept
    assert np.allclose(np.asarray(last, dtype=float)[0], trace.conv.output[0, 0].numpy(), atol=1e-6)


def test_stacked_scores_share_the_key_axis(trace):
    fig = figures.stacked_scores(attention_figures.scores_vs_weights(trace.attention, 1, 0))
    assert fig.layout.xaxis2.matches == "x"
    weights = [d for d in fig.data if d.type == "heatmap"][-1]
    assert np.allclose(array(weights.z)[0], trace.weights(1).numpy(), atol=1e-6)
    with pytest.raises(ExplorerError, match="has no subplot"):
        figures.stacked_scores(figures.preview())


def test_preview_is_a_real_differentiator_on_a_sine():
    fig = figures.preview()
    x, d = (array(t.y) for t in fig.data)
    assert fig.layout.height == 150
    assert np.allclose(d, x[:-2] - x[2:], atol=1e-6)                         # d_t = x_(t-1) - x_(t+1)
