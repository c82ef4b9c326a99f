"""Random valid and edge-case control values never crash the Normalization page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

EPS = st.sampled_from(["1e-05", "0.001", "0.01", "0.1", "1.0"])
MOMENTA = st.sampled_from(["0.01", "0.1", "0.3", "0.5", "0.9", "1.0", "None"])

controls = st.fixed_dictionaries({}, optional={
    "norm.kind": st.sampled_from(["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "RMSNorm"]),
    "norm.dtype": st.sampled_from(["float32", "float64"]),
    "norm.src": st.sampled_from(["random", "preset", "typed"]),
    "norm.preset": st.sampled_from(["notes: BatchNorm, 1..36 as (3, 3, 4)", "notes: LayerNorm, [[1, 2, 3], [4, 5, 6]]",
                                    "notes: InstanceNorm, 1..24 as (2, 3, 4)",
                                    "notes: GroupNorm, 1..192 as (2, 6, 4, 4)"]),
    "norm.layout": st.sampled_from(["(N, C, H, W)", "(N, C, L)", "(N, C)"]),
    "norm.n": st.integers(1, 32), "norm.c": st.integers(1, 16), "norm.h": st.integers(1, 16),
    "norm.w": st.integers(1, 16), "norm.l": st.integers(1, 64),
    "norm.offset": st.sampled_from([0.0, 0.5, 2.5, 5.0]), "norm.std": st.sampled_from([0.1, 1.0, 4.9]),
    "norm.shape": st.text(max_size=20), "norm.typed": st.text(max_size=60),
    "norm.bn.eps": EPS, "norm.in.eps": EPS, "norm.gn.eps": EPS, "norm.ln.eps": EPS,
    "norm.rms.eps": st.sampled_from(["1e-05", "0.1", "None"]),
    "norm.bn.affine": st.booleans(), "norm.in.affine": st.booleans(), "norm.gn.affine": st.booleans(),
    "norm.ln.affine": st.booleans(), "norm.rms.affine": st.booleans(),
    "norm.bn.bias": st.booleans(), "norm.ln.bias": st.booleans(), "norm.gn.bias": st.booleans(),
    "norm.bn.track": st.booleans(), "norm.in.track": st.booleans(),
    "norm.bn.momentum": MOMENTA, "norm.in.momentum": MOMENTA, "norm.mode": st.sampled_from(["train", "eval"]),
    "norm.batches": st.integers(1, 30), "norm.init": st.sampled_from(["random", "default", "counting"]),
    "norm.groups": st.sampled_from([1, 2, 3, 4, 8]), "norm.ln.dims": st.integers(1, 3),
    "norm.rms.dims": st.integers(1, 3), "norm.cell.sample": st.integers(0, 40), "norm.cell.channel": st.integers(0, 20),
    "norm.cell.row": st.integers(0, 20),
    "norm.cell.position": st.integers(0, 70), "norm.rchan": st.integers(0, 20),
    "norm.predict.on": st.booleans(), "seed": st.integers(0, 2**31 - 1),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("normalization", **state)
    assert not at.exception, (state, at.exception)
    # either the check badge or a learner-readable error, never an empty page
    assert at.success or at.error, state
