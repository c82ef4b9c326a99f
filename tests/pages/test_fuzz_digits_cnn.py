"""Random valid and edge-case control values never crash the Digits CNN page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

controls = st.fixed_dictionaries({}, optional={
    "digits.size": st.sampled_from(["8×8", "16×16"]), "digits.src": st.sampled_from(["test image", "upload"]),
    "digits.which": st.sampled_from(["every test image", "only the ones it reads wrong"]),
    "digits.idx": st.integers(0, 358), "digits.stage": st.sampled_from(["conv1", "pool1", "conv2", "pool2"]),
    "digits.ch": st.integers(0, 15), "digits.row": st.integers(0, 15), "digits.col": st.integers(0, 15),
    "digits.cin": st.integers(0, 7), "digits.invert": st.booleans(), "digits.predict.on": st.booleans(),
    "seed": st.integers(0, 2),   # a few seeds: each one trains its own network
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("digits_cnn", **state)
    assert not at.exception, (state, at.exception)
    assert at.success or at.error, state
