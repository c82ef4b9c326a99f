"""Random valid and edge-case control values never crash the Convolution page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

controls = st.fixed_dictionaries({}, optional={
    "conv.kind": st.sampled_from(["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]),
    "conv.cin": st.integers(1, 8), "conv.cout": st.integers(1, 8), "conv.groups": st.integers(1, 8),
    "conv.k": st.integers(1, 7), "conv.stride": st.integers(1, 4), "conv.dil": st.integers(1, 4),
    "conv.pad": st.sampled_from(["0", "1", "2", "3", "same", "valid"]),
    "conv.bias": st.booleans(), "conv.bval": st.floats(-10, 10),
    "conv.pmode": st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    "conv.opad": st.integers(0, 3), "conv.dtype": st.sampled_from(["float32", "float64"]),
    "conv.src": st.sampled_from(["preset", "random", "typed"]), "conv.size": st.integers(2, 32),
    "conv.typed": st.text(max_size=60), "conv.ksrc": st.sampled_from(["preset", "random", "typed"]),
    "conv.ktyped": st.text(max_size=40), "seed": st.integers(0, 2**31 - 1),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("convolution", **state)
    assert not at.exception, (state, at.exception)
    # either the check badge or a learner-readable error, never an empty page
    assert at.success or at.error, state
