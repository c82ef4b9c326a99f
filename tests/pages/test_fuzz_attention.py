"""Random valid and edge-case control values never crash the Attention page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

SIZES = ["same as embed_dim", 4, 8, 12, 16, 24, 32, 48, 64]
controls = st.fixed_dictionaries({}, optional={
    "attention.kind": st.sampled_from(["nn.MultiheadAttention", "AdditiveAttention (Bahdanau)"]),
    "attention.E": st.sampled_from([4, 8, 12, 16, 24, 32, 48, 64]), "attention.heads": st.integers(1, 16),
    "attention.bias": st.booleans(), "attention.bf": st.booleans(),
    "attention.avg": st.sampled_from(["average over heads", "per head"]), "attention.hidden": st.sampled_from(SIZES),
    "attention.dtype": st.sampled_from(["float32", "float64"]),
    "attention.src": st.sampled_from(["typed sentence", "random tensors"]),
    "attention.mode": st.sampled_from(["self-attention", "cross-attention"]), "attention.text": st.text(max_size=80),
    "attention.enc": st.text(max_size=40), "attention.dec": st.text(max_size=40), "attention.pe": st.booleans(),
    "attention.pads": st.integers(0, 6), "attention.B": st.integers(1, 4), "attention.L": st.integers(1, 32),
    "attention.S": st.integers(1, 32), "attention.kdim": st.sampled_from(SIZES),
    "attention.vdim": st.sampled_from(SIZES),
    "attention.causal": st.booleans(), "attention.kpm": st.booleans(),
    "attention.cells": st.one_of(st.text(max_size=30), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)),
                                                                 max_size=12).map(
        lambda cells: ", ".join(f"{i}-{j}" for i, j in cells))),
    "attention.head": st.integers(0, 15), "attention.b": st.integers(0, 3),
    "attention.predict.on": st.booleans(), "seed": st.integers(0, 2**31 - 1),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("attention", **state)
    assert not at.exception, (state, at.exception)
    # either the check badges or a learner-readable error, never an empty page
    assert at.success or at.error, state
