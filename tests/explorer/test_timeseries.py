"""The time-series pipeline: every traced stage against torch, the notes' 1..10 example, training
on a fixed seed, forecasts, CSV series and every ExplorerError path."""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from explorer import ExplorerError
from explorer.examples.csv_upload import csv_columns
from explorer.examples.timeseries import counting, differentiator, mistakes
from explorer.conv import trace_conv
from explorer.timeseries import (TimeSeriesModel, parameter_counts, scaling_of, synthetic, trace_pipeline,
                                 windows)
from explorer.timeseries_training import TrainConfig, forecast, split_point, train, validate, window_at

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


# -- traces vs torch ---------------------------------------------------------------------------
@st.composite
def setups(draw):
    hidden = draw(st.integers(1, 6))
    T = draw(st.integers(2, 20))
    B = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    seed = draw(st.integers(0, 2**16))
    model = TimeSeriesModel(hidden, seed=seed, dtype=dtype)
    x = torch.randn(B, 1, T, generator=torch.Generator().manual_seed(seed + 1), dtype=dtype)
    return model, x


def _reference(model, x):
    """The pipeline written with torch's own ops and formulas, independent of our traces."""
    with torch.no_grad():
        d = nn.functional.conv1d(x, torch.tensor([[[1.0, 0.0, -1.0]]], dtype=x.dtype), padding=1)   # (B, 1, T)
        out, (h_n, c_n) = model.lstm(d.permute(2, 0, 1))                                             # (T, B, H)
        q, k = h_n[-1], out.permute(1, 0, 2)                                                         # (B, H), (B, T, H)
        a = model.attention
        scores = torch.einsum("bth,h->bt", torch.tanh((q @ a.w_q.weight.T)[:, None] + k @ a.w_k.weight.T),
                              a.v.weight[0])                                                         # (B, T)
        weights = torch.softmax(scores, dim=-1)                                                      # (B, T)
        context = torch.einsum("bt,bth->bh", weights, k)                                             # (B, H)
        pred = context @ model.head.weight.T + model.head.bias                                       # (B, 1)
    return dict(d=d, out=out, h_n=h_n, weights=weights, context=context, pred=pred)


def _close(a, b, dtype):
    scale = max(1.0, float(b.abs().max()))
    return float((a - b).abs().max()) <= TOL[dtype] * scale


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_every_stage_matches_torch(setup):
    model, x = setup
    t = trace_pipeline(model, x)
    ref = _reference(model, x)
    dt = x.dtype
    assert t.manual.dtype == dt and t.manual.shape == (x.shape[0], 1)
    assert _close(t.conv.manual, ref["d"], dt) and _close(t.conv.output, ref["d"], dt)
    assert _close(t.lstm.manual, ref["out"], dt)
    assert _close(t.lstm.hidden[-1, 0, -1], ref["h_n"][0], dt)
    assert _close(t.attention.weights[:, 0, 0], ref["weights"], dt)
    assert _close(t.attention.manual[:, 0], ref["context"], dt)
    assert _close(t.manual, ref["pred"], dt)
    assert _close(t.output, ref["pred"], dt)
    assert t.max_abs_error == float((t.output - t.manual).abs().max())
    assert all(tr.max_abs_error <= TOL[dt] * 10 for _, tr in t.traces)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_arrows_carry_the_real_shapes(setup):
    model, x = setup
    t = trace_pipeline(model, x)
    with torch.no_grad():
        s = model.stages(x)
    shapes = {a.name: a.shape for a in t.arrows}
    assert shapes["x"] == tuple(x.shape)
    assert shapes["d"] == tuple(s["diff"].shape)
    assert shapes["seq"] == tuple(s["diff"].permute(2, 0, 1).shape) == (x.shape[2], x.shape[0], 1)
    for name, key in (("out", "lstm_out"), ("h_n", "h_n"), ("keys", "keys"), ("query", "query"),
                      ("weights", "weights"), ("context", "context"), ("prediction", "prediction")):
        assert shapes[name] == tuple(s[key].shape), name


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups(), st.data())
def test_softmax_step_recomposes_the_weight(setup, data):
    model, x = setup
    t = trace_pipeline(model, x)
    b = data.draw(st.integers(0, t.batch - 1))
    k = data.draw(st.integers(0, t.steps - 1))
    sm = t.softmax_step(b, k)
    scores = t.attention.scores[b, 0, 0].double()
    expected = math.exp(float(scores[k])) / float(torch.exp(scores).sum())   # no max shift: a different route
    assert sm.weight == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert float(sm.shifted_exp.max()) == 1.0                                # the largest score gives exp(0)


def test_tracing_leaves_the_model_and_global_rng_alone():
    model = TimeSeriesModel(4, seed=3)
    before = {n: p.detach().clone() for n, p in model.state_dict().items()}
    rng = torch.random.get_rng_state()
    trace_pipeline(model, torch.randn(2, 1, 9, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(rng, torch.random.get_rng_state())
    assert all(torch.equal(before[n], p) for n, p in model.state_dict().items())


# -- the notes' example: 1..10 through the differentiator ------------------------------------------
# By hand: PyTorch's Conv1d is cross-correlation, d_t = w_0 x_(t-1) + w_1 x_t + w_2 x_(t+1) with
# w = [1, 0, -1] and a zero on each side (padding 1). For x = 1..10 (x_0 = 1):
#   t = 0:      0 - x_1 = 0 - 2  = -2      (the padding zero happens to equal x_0 - 1)
#   t = 1..8:   x_(t-1) - x_(t+1) = -2
#   t = 9:      x_8 - 0  = 9 - 0 =  9      (the padding edge, not a trend)
NOTES_OUTPUT = [-2.0] * 9 + [9.0]


def test_one_to_ten_gives_minus_two_nine_times_then_nine():
    t = trace_conv(differentiator(), counting())
    assert t.output[0, 0].tolist() == NOTES_OUTPUT
    assert t.manual[0, 0].tolist() == NOTES_OUTPUT
    last = t.window(0, 0, 9)
    assert [term.x for term in last.terms] == [9.0, 10.0, 0.0]               # x_8, x_9 and a padding zero
    assert last.terms[2].input_index is None
    assert [term.product for term in last.terms] == [9.0, 0.0, -0.0]


def test_the_models_own_conv_is_that_differentiator():
    model = TimeSeriesModel(3, seed=5)
    t = trace_pipeline(model, counting())
    assert t.conv.output[0, 0].tolist() == NOTES_OUTPUT
    assert not model.conv.weight.requires_grad


def test_a_flipped_textbook_convolution_has_the_opposite_sign():
    # numpy's convolve flips the kernel: y_t = x_(t+1) - x_(t-1), the negative of PyTorch's
    flipped = np.convolve(np.arange(1.0, 11.0), [1.0, 0.0, -1.0], mode="same")
    assert flipped.tolist() == [-v for v in NOTES_OUTPUT]


def test_callouts_carry_the_true_numbers():
    sign, summary, permute = mistakes()
    assert sign.trace.output[0, 0].tolist() == NOTES_OUTPUT
    assert "gives -2" in sign.what_goes_wrong and "last value 9" in sign.what_goes_wrong
    assert torch.equal(summary.trace.h_n[0], summary.trace.output[-1])       # h_n is the last output
    assert "differ by 0" in summary.what_goes_wrong
    assert permute.trace.permuted[:, 0, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert permute.trace.permuted[:, 1, 0].tolist() == [10.0, 20.0, 30.0, 40.0]
    assert permute.trace.reshaped[:, 0, 0].tolist() == [1.0, 3.0, 10.0, 30.0]  # storage order, mixed


# -- model, data and training ------------------------------------------------------------------
def test_seeded_model_is_reproducible_with_torchs_default_bounds():
    a, b, c = TimeSeriesModel(8, seed=1), TimeSeriesModel(8, seed=1), TimeSeriesModel(8, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.lstm.weight_hh_l0, c.lstm.weight_hh_l0)
    assert float(a.lstm.weight_ih_l0.detach().abs().max()) <= 1 / math.sqrt(8)        # U(-1/sqrt(H), 1/sqrt(H))
    assert float(a.head.weight.detach().abs().max()) <= 1 / math.sqrt(8)              # U(-1/sqrt(fan_in), ...)
    assert a.conv.weight.flatten().tolist() == [1.0, 0.0, -1.0]


def test_parameter_counts_follow_the_formulas():
    H = 5
    counts = {name: (learned, fixed) for name, learned, fixed in parameter_counts(TimeSeriesModel(H))}
    assert counts["conv"] == (0, 3)
    assert counts["lstm"] == (4 * H * (1 + H) + 8 * H, 0)                    # W_ih, W_hh, b_ih, b_hh
    assert counts["attention"] == (2 * H * H + H, 0)                         # W_q, W_k, v
    assert counts["head"] == (H + 1, 0)


def test_windows_pair_each_run_with_the_next_value():
    x, y = windows(torch.arange(10.0), 3)
    assert x.shape == (7, 1, 3) and y.shape == (7, 1)
    assert x[4, 0].tolist() == [4.0, 5.0, 6.0] and y[4, 0] == 7.0


def test_scaling_is_zero_mean_unit_std_and_round_trips():
    s = synthetic("trend + noise", 100, seed=2)
    sc = scaling_of(s)
    z = sc.scale(s)
    assert abs(float(z.mean())) < 1e-12 and abs(float(z.std(unbiased=False)) - 1) < 1e-12
    assert torch.allclose(sc.unscale(z), s, atol=1e-12)
    assert scaling_of(torch.full((20,), 3.0)).std == 1.0                    # constant: nothing to divide by


@pytest.mark.parametrize("kind", ["sine", "trend + noise", "steps"])
def test_synthetic_series_are_seeded(kind):
    assert torch.equal(synthetic(kind, 64, seed=4), synthetic(kind, 64, seed=4))
    assert not torch.equal(synthetic(kind, 64, seed=4), synthetic(kind, 64, seed=5))


@pytest.fixture(scope="module")
def sine_run():
    series = synthetic("sine", 160, seed=0)
    return series, train(series, TrainConfig(steps=300, seed=0))


def test_training_reduces_the_loss_on_a_fixed_seed(sine_run):
    series, trained = sine_run
    losses = np.array(trained.losses)
    assert len(losses) == 300
    assert losses[:10].mean() > 0.5                      # a fresh model on unit-scale data
    assert losses[-20:].mean() < 0.02                    # after 300 Adam steps (measured: about 0.006)
    fc = forecast(trained, series)
    assert fc.test_mse < 0.5 * fc.naive_test_mse        # beats "next = last" on the held-out part


def test_training_is_deterministic_and_freezes_the_shared_model(sine_run):
    series, trained = sine_run
    again = train(series, TrainConfig(steps=300, seed=0))
    assert again.losses == trained.losses
    assert all(torch.equal(p, q) for p, q in zip(again.model.parameters(), trained.model.parameters()))
    assert not any(p.requires_grad for p in trained.model.parameters())
    assert not trained.model.training


def test_training_leaves_global_rng_and_thread_count_alone():
    rng, threads = torch.random.get_rng_state(), torch.get_num_threads()
    train(synthetic("steps", 64), TrainConfig(window=8, steps=5))
    assert torch.equal(rng, torch.random.get_rng_state())
    assert torch.get_num_threads() == threads


def test_progress_is_reported_every_ten_steps_and_at_the_end():
    calls = []
    train(synthetic("sine", 64), TrainConfig(window=8, steps=25), progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [10, 20, 25]
    assert all(c[1] == 25 and c[2] > 0 for c in calls)


def test_zero_steps_keeps_the_seeded_initial_model():
    trained = train(synthetic("sine", 64), TrainConfig(window=8, steps=0, seed=9))
    assert trained.losses == ()
    assert all(torch.equal(p, q) for p, q in zip(trained.model.parameters(), TimeSeriesModel(8, seed=9).parameters()))


def test_forecast_lines_up_truth_naive_and_the_traced_prediction(sine_run):
    series, trained = sine_run
    fc = forecast(trained, series)
    W = trained.config.window
    assert fc.steps.tolist() == list(range(W, len(series)))
    assert np.array_equal(fc.truth, series[W:].numpy())
    assert np.array_equal(fc.naive, series[W - 1:-1].numpy())
    assert fc.n_train == split_point(len(series), trained.config) - W == 104
    step = 140
    t = trace_pipeline(trained.model, window_at(trained, series, step))
    i = fc.index_of(step)
    assert fc.prediction[i] == pytest.approx(trained.scaling.unscale(float(t.output[0, 0])), rel=1e-6)
    assert np.allclose(fc.weights[i], t.weights(0).double().numpy(), atol=1e-6)


# -- CSV uploads as series -----------------------------------------------------------------------
def test_an_uploaded_column_trains_like_a_synthetic_series():
    values = synthetic("sine", 80, seed=1).tolist()
    data = ("t,label,y\n" + "\n".join(f"{i},a,{v!r}" for i, v in enumerate(values))).encode()
    cols = csv_columns(data)
    assert list(cols) == ["t", "y"]
    assert cols["y"].tolist() == values
    trained = train(cols["y"], TrainConfig(window=12, steps=20))
    assert len(forecast(trained, cols["y"]).steps) == 80 - 12


@pytest.mark.parametrize("data, message", [
    (b"y\n" + b"1\n" * 10, "needs at least 16"),
    (b"y\n" + b"1e308\n-1e308\n" * 10, "too large to scale"),
    (b"y,z\n" + b"1,a\n" * 20, None),            # z is text: only y is offered
])
def test_csv_columns_that_cannot_be_forecast_are_explained(data, message):
    column = csv_columns(data)["y"]
    if message is None:
        assert len(column) == 20 and validate(TrainConfig(window=4), len(column)) is None
        return
    with pytest.raises(ExplorerError, match=message):
        scaling_of(column)


def test_a_csv_too_short_for_the_window_says_which_window_fits():
    column = csv_columns(b"y\n" + "\n".join(str(i) for i in range(40)).encode())["y"]
    with pytest.raises(ExplorerError, match="use a window of at most 24"):
        validate(TrainConfig(window=30), len(column))


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: synthetic("square", 64), "Unknown series"),
    (lambda: synthetic("sine", 8), "between 16 and 5000"),
    (lambda: scaling_of(torch.ones(3, 20)), "one column"),
    (lambda: scaling_of(torch.tensor([1.0, float("nan")] * 10)), "NaN or infinity"),
    (lambda: windows(torch.arange(10.0), 1), "at least 2"),
    (lambda: windows(torch.arange(10.0), 10), "needs more than 10"),
    (lambda: TimeSeriesModel(0), "positive whole number"),
    (lambda: trace_pipeline(nn.LSTM(1, 2), torch.zeros(1, 1, 5)), "takes one of TimeSeriesModel"),
    (lambda: trace_pipeline(TimeSeriesModel(2), torch.zeros(1, 2, 5)), r"\[batch, 1, seq\]"),
    (lambda: trace_pipeline(TimeSeriesModel(2), torch.zeros(5)), r"\[batch, 1, seq\]"),
    (lambda: trace_pipeline(TimeSeriesModel(2), torch.zeros(1, 1, 1)), "at least one window of 2"),
    (lambda: trace_pipeline(TimeSeriesModel(2), torch.zeros(1, 1, 5, dtype=torch.float64)), "float64"),
    (lambda: trace_pipeline(TimeSeriesModel(2), torch.zeros(1, 1, 5, dtype=torch.int64)), "floating-point"),
    (lambda: trace_pipeline(TimeSeriesModel(2), torch.zeros(1, 1, 5)).softmax_step(0, 5), "out of range"),
    (lambda: validate(TrainConfig(window=1), 100), "window must be a whole number from 2 to 96"),
    (lambda: validate(TrainConfig(hidden=65), 100), "hidden must be"),
    (lambda: validate(TrainConfig(steps=-1), 100), "steps must be"),
    (lambda: validate(TrainConfig(batch=0), 100), "batch must be"),
    (lambda: validate(TrainConfig(lr=0.0), 100), "learning rate"),
    (lambda: validate(TrainConfig(holdout=0.6), 100), "at most half"),
    (lambda: validate(TrainConfig(window=20), 30), "leaves 4 windows to train on"),
    (lambda: validate(TrainConfig(window=2), 11), "use a longer series"),
])
def test_bad_input_raises_a_learner_readable_error(call, message):
    with pytest.raises(ExplorerError, match=message):
        call()


def test_windows_and_forecasts_outside_the_series_are_refused(sine_run):
    series, trained = sine_run
    with pytest.raises(ExplorerError, match="predicts steps 24 to 159"):
        window_at(trained, series, 10)
    with pytest.raises(ExplorerError, match="predicts steps 24 to 159"):
        forecast(trained, series).index_of(160)
