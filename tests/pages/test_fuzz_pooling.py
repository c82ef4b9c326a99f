"""Random valid and edge-case control values never crash the Pooling and upsampling page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page
from explorer.pooling_config import POOL_KINDS, UPSAMPLE_MODES

pooling = st.fixed_dictionaries({"pool.view": st.just("Pooling")}, optional={
    "pool.kind": st.sampled_from(list(POOL_KINDS)), "pool.ch": st.integers(1, 4),
    "pool.dtype": st.sampled_from(["float32", "float64"]), "pool.k": st.integers(1, 5),
    "pool.stride": st.integers(1, 4), "pool.ceil": st.booleans(), "pool.pad": st.integers(0, 2),
    "pool.dil": st.integers(1, 3), "pool.idx": st.booleans(), "pool.cip": st.booleans(),
    "pool.div": st.integers(0, 25), "pool.p": st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 8.0]),
    "pool.out0": st.integers(1, 16), "pool.out1": st.integers(1, 16),
    "pool.src": st.sampled_from(["preset", "random", "typed"]), "pool.size": st.integers(2, 32),
    "pool.typed": st.text(max_size=60), "pool.pos0": st.integers(0, 40), "pool.pos1": st.integers(0, 40),
    "pool.c": st.integers(0, 3), "pool.ck": st.sampled_from(["random (seeded)", "all ¼ (an average)", "edge (Sobel x)"]),
    "seed": st.integers(0, 2**31 - 1),
})
upsampling = st.fixed_dictionaries({"pool.view": st.just("Upsampling")}, optional={
    "pool.udims": st.sampled_from(["2D image", "1D signal"]),
    "pool.mode": st.sampled_from(sorted(set(UPSAMPLE_MODES[1] + UPSAMPLE_MODES[2]))),
    "pool.scale": st.sampled_from([0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0]), "pool.align": st.booleans(),
    "pool.uch": st.integers(1, 3), "pool.udtype": st.sampled_from(["float32", "float64"]),
    "pool.up.src": st.sampled_from(["preset", "random", "typed"]), "pool.up.size": st.integers(2, 16),
    "pool.up.typed": st.text(max_size=40), "pool.upos0": st.integers(0, 70), "pool.upos1": st.integers(0, 70),
    "pool.uc": st.integers(0, 2), "seed": st.integers(0, 2**31 - 1),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(pooling, upsampling))
def test_no_control_combination_raises(state):
    at = run_page("pooling", **state)
    assert not at.exception, (state, at.exception)
    # either the check badge or a learner-readable error, never an empty page
    assert at.success or at.error, state
