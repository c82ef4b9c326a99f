"""Random valid and edge-case control values never crash the Time-series page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

controls = st.fixed_dictionaries({}, optional={
    "ts.src": st.sampled_from(["synthetic", "CSV upload"]),
    "ts.kind": st.sampled_from(["sine", "trend + noise", "steps"]),
    "ts.len": st.integers(6, 75).map(lambda k: 8 * k),
    "ts.window": st.integers(4, 64), "ts.hidden": st.sampled_from([2, 4, 8, 16, 32]),
    # training time grows with the steps; 400 keeps twenty examples affordable
    "ts.steps": st.integers(0, 8).map(lambda k: 50 * k),
    "ts.lr": st.sampled_from([0.001, 0.003, 0.01, 0.03, 0.1]),
    "ts.t": st.integers(-5, 700), "ts.k": st.integers(-3, 70), "ts.unit": st.integers(-2, 40),
    "ts.inside": st.sampled_from(["Conv1d", "LSTM", "attention", "Linear head"]),
    "ts.stage": st.sampled_from(["Conv1d", "LSTM", "attention", "Linear head"]),
    "ts.predict.on": st.booleans(), "seed": st.integers(0, 2**31 - 1),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("time_series", **state)
    assert not at.exception, (state, at.exception)
    # either the check badges or a learner-readable error, never an empty page
    assert at.success or at.error, state
