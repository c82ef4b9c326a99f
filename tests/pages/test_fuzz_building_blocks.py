"""Random valid and edge-case control values never crash the Building blocks page, on any tab."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apptest import run_page

ACTIVATIONS = ["ReLU", "LeakyReLU", "ELU", "GELU", "GELU (tanh)", "SiLU", "Sigmoid", "Tanh", "Softplus", "Softmax"]

controls = st.fixed_dictionaries({"blocks.tab": st.sampled_from(["Linear", "Embedding", "Dropout", "Activations"])},
                                 optional={
    "seed": st.integers(0, 2**31 - 1),
    # Linear
    "blocks.lin.src": st.sampled_from(["preset", "random", "typed"]),
    "blocks.lin.preset": st.sampled_from(["hand example 2→2", "average of 3", "rotate 90°", "mix 3→2",
                                          "bilinear dot product"]),
    "blocks.lin.kind": st.sampled_from(["Linear", "Bilinear"]), "blocks.lin.in": st.integers(1, 16),
    "blocks.lin.in2": st.integers(1, 16), "blocks.lin.out": st.integers(1, 64), "blocks.lin.bias": st.booleans(),
    "blocks.lin.rows": st.integers(1, 8), "blocks.lin.n": st.integers(0, 7), "blocks.lin.j": st.integers(0, 63),
    "blocks.lin.typed": st.text(max_size=40), "blocks.lin.typed2": st.text(max_size=20),
    "blocks.lin.dtype": st.sampled_from(["float64", "float32"]), "blocks.lin.predict.on": st.booleans(),
    # Embedding
    "blocks.emb.V": st.integers(2, 1000), "blocks.emb.D": st.integers(1, 64), "blocks.emb.pad": st.booleans(),
    "blocks.emb.padidx": st.integers(0, 999), "blocks.emb.maxnorm": st.booleans(),
    "blocks.emb.mn": st.floats(0.1, 10.0), "blocks.emb.p": st.sampled_from([2.0, 1.0, 3.0]),
    "blocks.emb.ids": st.one_of(st.text(max_size=40), st.sampled_from(["the cat", "0 0 0", "9 1 9", "999"])),
    "blocks.emb.t": st.integers(0, 40), "blocks.emb.dtype": st.sampled_from(["float64", "float32"]),
    # Dropout
    "blocks.drop.p": st.sampled_from([0.0, 0.05, 0.5, 0.95, 1.0]), "blocks.drop.mode": st.sampled_from(["train", "eval"]),
    "blocks.drop.samples": st.integers(1, 200).map(lambda k: 10 * k),
    "blocks.drop.src": st.sampled_from(["notes [1..5]", "random", "typed"]),
    "blocks.drop.rows": st.integers(1, 16), "blocks.drop.cols": st.integers(1, 16),
    "blocks.drop.typed": st.text(max_size=40), "blocks.drop.i": st.integers(0, 300),
    "blocks.drop.dtype": st.sampled_from(["float64", "float32"]), "blocks.drop.predict.on": st.booleans(),
    # Activations
    "blocks.act.name": st.sampled_from(ACTIVATIONS), "blocks.act.slope": st.floats(-1.0, 1.0),
    "blocks.act.alpha": st.floats(0.0, 5.0), "blocks.act.beta": st.floats(0.1, 10.0),
    "blocks.act.threshold": st.floats(0.0, 50.0), "blocks.act.T": st.sampled_from([0.05, 0.5, 1.0, 10.0]),
    "blocks.act.src": st.sampled_from(["preset", "random", "typed"]), "blocks.act.n": st.integers(2, 200),
    "blocks.act.spread": st.sampled_from([0.5, 3.0, 10.0]),
    "blocks.act.typed": st.one_of(st.text(max_size=40), st.sampled_from(["-1e6, 1e6", "0", "1e308, -1e308"])),
    "blocks.act.i": st.integers(0, 199), "blocks.act.swept": st.integers(0, 3),
    "blocks.act.dtype": st.sampled_from(["float64", "float32"]), "blocks.act.predict.on": st.booleans(),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_no_control_combination_raises(state):
    at = run_page("building_blocks", **state)
    assert not at.exception, (state, at.exception)
    # either the check badge or a learner-readable error, never an empty page
    assert at.success or at.error, state
