"""Random sentences (any unicode, empty, very long) and control values never crash the MiniLM page."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

controls = st.fixed_dictionaries({}, optional={
    "minilm.text": st.one_of(st.text(max_size=80),
                             st.sampled_from(["", "a " * 80, "😀 naïve café", "[SEP] [CLS]"])),
    "minilm.layer": st.integers(0, 5), "minilm.head": st.integers(0, 11),
    "minilm.query": st.sampled_from(["0: [CLS]", "3: sat", "99: nope"]), "minilm.predict.on": st.booleans(),
})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("minilm_attention", **state)
    assert not at.exception, (state, at.exception)
    # either the checks or a learner-readable error, never an empty page
    assert at.success or at.error, state
