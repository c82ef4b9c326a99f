"""The Time-series page renders with defaults and after changing every control, never raising, and
shows the numbers the modules compute."""
import numpy as np
import pytest

from apptest import array, figures, run_page, texts
from explorer.timeseries import synthetic

PAGE = "time_series"


def _check_ok(at, badges=5):
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == []
    assert sum("agree" in s.value for s in at.success) == badges, [s.value for s in at.success]


def _scaled_window(values, step, window):
    """The model's input before `step`, scaled by the series' mean and population std (numpy)."""
    v = np.asarray(values, dtype=float)
    return (v[step - window:step] - v.mean()) / v.std()


def _named(fig, name):
    return next(d for d in fig["data"] if d.get("name") == name)


def test_defaults_trace_the_first_held_out_prediction_of_the_sine():
    at = run_page(PAGE)
    _check_ok(at)
    loss, forecast, flow, stages = figures(at)[:4]
    # 160 values, window 24: 136 predictions, 120 of them get a frame in the player
    assert len(forecast["frames"]) == 120
    assert "Loss:" in loss["layout"]["title"]["text"]
    flow_text = " ".join(a["text"] for a in flow["layout"]["annotations"])
    assert "[24, 1, 1]" in flow_text and "seq, batch, features" in flow_text and "[1, 1, 24]" in flow_text
    # the last 32 values are held out, so the first held-out prediction is of step 128
    assert at.slider(key="ts.t").value == 128
    x = np.asarray(array(_named(stages, "x")["z"]), dtype=float)[0]
    assert np.allclose(x, _scaled_window(synthetic("sine", 160).numpy(), 128, 24), atol=1e-6)
    d = np.asarray(array(_named(stages, "d")["z"]), dtype=float)[0]
    assert np.allclose(d[1:-1], x[:-2] - x[2:], atol=1e-5)                  # d_t = x_(t-1) - x_(t+1)
    assert "Common mistake: The differentiator" in " ".join(e.label for e in at.expander)


@pytest.mark.parametrize("key, value", [
    ("ts.kind", "trend + noise"), ("ts.kind", "steps"), ("ts.len", 48), ("ts.len", 600),
    ("ts.window", 4), ("ts.window", 64), ("ts.hidden", 2), ("ts.hidden", 32), ("ts.steps", 0),
    ("ts.steps", 50), ("ts.lr", 0.1), ("ts.t", 24), ("ts.t", 159), ("ts.src", "CSV upload"),
    ("ts.inside", "LSTM"), ("ts.inside", "attention"), ("ts.inside", "Linear head"),
    ("ts.stage", "LSTM"), ("ts.stage", "attention"), ("ts.stage", "Linear head"), ("ts.k", 0),
    ("ts.unit", 7), ("ts.predict.on", True), ("seed", 3), ("ts.tour", True),
])
def test_each_control_renders(key, value):
    _check_ok(run_page(PAGE, **{key: value}))


def test_the_math_panel_shows_the_conv_output_at_the_chosen_step():
    at = run_page(PAGE, **{"ts.k": 5})
    _check_ok(at)
    x = _scaled_window(synthetic("sine", 160).numpy(), 128, 24)
    assert "**d[5]** = " in texts(at)
    shown = float(texts(at).split("**d[5]** = ")[1].split("= **")[1].split("**")[0])
    assert shown == pytest.approx(x[4] - x[6], rel=1e-4)                     # by the formula, not the page


@pytest.fixture(scope="module")
def default_model():
    """The page's default model, trained here the same way (same series, config and seed)."""
    import torch
    from explorer.timeseries_training import TrainConfig, train, window_at
    series = synthetic("sine", 160)
    trained = train(series, TrainConfig())
    with torch.no_grad():
        return trained.model.stages(window_at(trained, series, 128))


def test_the_math_panel_shows_the_lstm_state_and_attention_weight_the_modules_compute(default_model):
    at = run_page(PAGE, **{"ts.stage": "LSTM", "ts.k": 3, "ts.unit": 2})
    _check_ok(at)
    h = float(default_model["lstm_out"][3, 0, 2])                          # nn.LSTM's own output
    assert "**h_3[2]** = o·tanh(c) = " in texts(at) and f"The module computed **{h:.6g}**." in texts(at)
    at = run_page(PAGE, **{"ts.stage": "attention", "ts.k": 3})
    _check_ok(at)
    w = float(default_model["weights"][0, 0, 3])                            # AdditiveAttention's own weights
    assert f"= **{w:.6g}**" in texts(at)


def test_predict_then_reveal_hides_the_answer_until_checked():
    at = run_page(PAGE, **{"ts.predict.on": True, "ts.k": 5})
    _check_ok(at)
    assert "d[5]" not in " ".join(m.value for m in at.markdown if m.value.startswith("**d["))
    assert "hidden until you check" in " ".join(c.value for c in at.caption)
    x = _scaled_window(synthetic("sine", 160).numpy(), 128, 24)
    at.number_input(key="ts.predict.guess").set_value(float(x[4] - x[6]))
    next(b for b in at.button if b.label == "Check").click().run()
    assert not at.exception
    assert any(s.value.startswith("Right") for s in at.success)
    assert "**d[5]** = " in texts(at)


def test_a_series_too_short_for_the_window_says_what_to_change():
    at = run_page(PAGE, **{"ts.len": 48, "ts.window": 64})
    assert not at.exception
    assert any("windows to train on" in e.value and "window of at most" in e.value for e in at.error)


def test_an_uploaded_csv_column_is_forecast():
    at = run_page(PAGE, **{"ts.src": "CSV upload", "ts.window": 8, "ts.steps": 50})
    values = [round(float(v), 6) for v in synthetic("steps", 60, seed=4)]
    csv = "day,level\n" + "\n".join(f"{i},{v}" for i, v in enumerate(values))
    at.file_uploader[0].set_value(("levels.csv", csv.encode(), "text/csv")).run()
    _check_ok(at)
    assert at.selectbox(key="ts.csvcol").options == ["day", "level"]
    at.selectbox(key="ts.csvcol").set_value("level").run()
    _check_ok(at)
    series = _named(figures(at)[1], "series")
    assert np.allclose(np.asarray(array(series["y"]), dtype=float), values)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"name\nalice\nbob\n", "only numbers"),
    (b"y\n" + b"1\n" * 10, "a series of 10 values leaves 0 windows to train on"),
])
def test_an_unusable_csv_gets_a_message_not_a_traceback(data, message):
    at = run_page(PAGE, **{"ts.src": "CSV upload"})
    at.file_uploader[0].set_value(("bad.csv", data, "text/csv")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_a_link_sets_the_controls():
    # (a change writing the link back happens in the browser: see the browser test)
    from streamlit.testing.v1 import AppTest
    from apptest import ROOT, TIMEOUT
    at = AppTest.from_file(str(ROOT / "pages" / f"{PAGE}.py"), default_timeout=TIMEOUT)
    at.query_params.update({"ts.window": "16", "ts.kind": "steps", "ts.t": "100"})
    at.run()
    _check_ok(at)
    assert at.slider(key="ts.window").value == 16 and at.selectbox(key="ts.kind").value == "steps"
    assert at.slider(key="ts.t").value == 100
    window = np.asarray(array(_named(figures(at)[3], "x")["z"]), dtype=float)[0]
    assert np.allclose(window, _scaled_window(synthetic("steps", 160).numpy(), 100, 16), atol=1e-6)


def test_hostile_link_values_fall_back_to_defaults():
    # (the note about them comes from app.py's link check: see the browser test)
    from streamlit.testing.v1 import AppTest
    from apptest import ROOT, TIMEOUT
    at = AppTest.from_file(str(ROOT / "pages" / f"{PAGE}.py"), default_timeout=TIMEOUT)
    at.query_params.update({"ts.window": "99999", "ts.hidden": "-3", "ts.kind": "<script>alert(1)</script>",
                            "ts.lr": "'; DROP TABLE", "ts.t": "1e9"})
    at.run()
    assert not at.exception
    _check_ok(at)
    assert at.slider(key="ts.window").value == 24 and at.selectbox(key="ts.kind").value == "sine"
    assert at.select_slider(key="ts.hidden").value == 8 and at.select_slider(key="ts.lr").value == 0.01
    assert at.slider(key="ts.t").value == 128
