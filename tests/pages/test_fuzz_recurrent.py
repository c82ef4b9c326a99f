"""Random valid and edge-case control values never crash the Recurrent page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

controls = st.fixed_dictionaries({}, optional={
    "rec.kind": st.sampled_from(["RNN", "LSTM", "GRU"]), "rec.hidden": st.integers(1, 128),
    "rec.layers": st.integers(1, 4), "rec.dtype": st.sampled_from(["float32", "float64"]),
    "rec.bidir": st.booleans(), "rec.bfirst": st.booleans(), "rec.bias": st.booleans(),
    "rec.act": st.sampled_from(["tanh", "relu"]), "rec.proj": st.integers(0, 127),
    "rec.dropout": st.sampled_from([0.0, 0.25, 0.9]), "rec.h0": st.sampled_from(["zeros", "random"]),
    "rec.src": st.sampled_from(["preset", "random", "typed", "CSV upload"]),
    "rec.preset": st.sampled_from(["sine wave", "step", "counting 1..10", "sentence"]),
    "rec.sentence": st.text(max_size=80), "rec.enc": st.sampled_from(["one-hot", "embedded"]),
    "rec.len": st.integers(2, 2000), "rec.typed": st.text(max_size=60), "rec.features": st.integers(1, 64),
    "rec.t": st.integers(0, 2000), "rec.layer": st.integers(0, 3), "rec.dir": st.sampled_from(["forward", "backward"]),
    "rec.units": st.lists(st.integers(0, 127), max_size=8, unique=True), "rec.bunit": st.integers(0, 127),
    "rec.pgate": st.sampled_from(["input", "forget", "cell", "output", "reset", "update", "new", "hidden"]),
    "rec.punit": st.integers(0, 127), "rec.predict.on": st.booleans(),
    "rec.gscale": st.floats(0.25, 3.0), "rec.gbias": st.sampled_from([0.0, 2.5, 5.0]),
    "rec.gsteps": st.sampled_from([10, 60, 200]),
    # a few training settings only: each new one trains a model (cached afterwards)
    "rec.thidden": st.sampled_from([2, 8]), "rec.tsteps": st.sampled_from([50, 300]),
    "seed": st.sampled_from([0, 1, 2**31 - 1]),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("recurrent", **state)
    assert not at.exception, (state, at.exception)
    # either the check badge or a learner-readable error, never an empty page
    assert at.success or at.error, state
