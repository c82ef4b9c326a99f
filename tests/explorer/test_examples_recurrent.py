"""The Recurrent page's inputs: presets, delayed features, sentences, typed and uploaded series, and
the seed notes' mistake."""
import pytest
import torch

from explorer import ExplorerError
from explorer.examples import recurrent as ex


def test_presets_by_hand():
    assert ex.input_preset("counting 1..10").x[:, 0].tolist() == [float(v) for v in range(1, 11)]
    assert ex.input_preset("step").x[:, 0].tolist() == [0.0] * 5 + [1.0] * 7
    sine = ex.input_preset("sine wave").x[:, 0]
    assert sine.shape == (24,) and sine[3].item() == 1.0 and sine[9].item() == -1.0   # period 12
    assert ex.input_preset("sentence").vocabulary == ("cat", "mat", "on", "sat", "the")
    with pytest.raises(ExplorerError, match="no preset called 'noise'"):
        ex.input_preset("noise")


def test_delayed_features_are_the_series_k_steps_late():
    x = ex.input_preset("counting 1..10", features=3).x
    assert x[:4].tolist() == [[1, 0, 0], [2, 1, 0], [3, 2, 1], [4, 3, 2]]
    assert ex.delayed_features(torch.tensor([5.0]), 3).tolist() == [[5.0, 0.0, 0.0]]


def test_fit_features():
    one = torch.tensor([[1.0], [2.0]])
    assert ex.fit_features(one, 2).tolist() == [[1.0, 0.0], [2.0, 1.0]]
    two = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert ex.fit_features(two, 2) is two
    with pytest.raises(ExplorerError, match="Each line has 2 values but input_size is 3"):
        ex.fit_features(two, 3)


def test_sentences_one_hot_and_embedded():
    s = ex.sentence_input("The cat the")
    assert s.labels == ("the", "cat", "the") and s.vocabulary == ("cat", "the")
    assert s.x.tolist() == [[0, 1], [1, 0], [0, 1]]
    e = ex.sentence_input("the cat the", "embedded", dim=3, seed=1, dtype=torch.float64)
    assert e.x.shape == (3, 3) and e.x.dtype == torch.float64
    assert torch.equal(e.x[0], e.x[2]) and not torch.equal(e.x[0], e.x[1])   # one row per word
    assert torch.equal(e.x, ex.sentence_input("the cat the", "embedded", dim=3, seed=1, dtype=torch.float64).x)
    assert torch.equal(e.x * 100, torch.round(e.x * 100))                     # two decimals


@pytest.mark.parametrize("args, message", [
    (("",), "The sentence is empty"),
    (("a " * 201,), "has 201 words; use at most 200"),
    ((" ".join(f"w{k}" for k in range(65)),), "65 different words, too many one-hot features"),
    (("a b", "binary"), "Unknown encoding 'binary'"),
])
def test_sentence_errors(args, message):
    with pytest.raises(ExplorerError, match=message):
        ex.sentence_input(*args)


def test_typed_series():
    assert ex.parse_series("1, 2; 3").tolist() == [[1.0], [2.0], [3.0]]
    assert ex.parse_series("t,y\n0,1.5\n1,2.5").tolist() == [[0.0, 1.5], [1.0, 2.5]]
    assert ex.parse_series("[1 2 3]").tolist() == [[1.0], [2.0], [3.0]]
    assert ex.parse_series(ex.format_series(torch.tensor([0.25, -3.0]))).tolist() == [[0.25], [-3.0]]


@pytest.mark.parametrize("text, message", [
    ("", "The series is empty"),
    ("a, b", "The series is empty"),
    ("1, 2\n3, x", "Line 2, value 2 of the series is 'x', not a number"),
    ("1, inf", "use finite numbers"),
    ("1, 2\n3", r"different numbers of values \(\[1, 2\]\)"),
    ("\n".join(["1"] * 2001), "2001 time steps; use at most 2000"),
])
def test_typed_series_errors(text, message):
    with pytest.raises(ExplorerError, match=message):
        ex.parse_series(text)


def test_uploaded_column_length_is_checked():
    col = torch.arange(3, dtype=torch.float64)
    assert ex.series_input(col, 2).tolist() == [[0.0, 0.0], [1.0, 0.0], [2.0, 1.0]]
    with pytest.raises(ExplorerError, match="2001 values; the explorer takes at most 2000"):
        ex.series_input(torch.zeros(2001, dtype=torch.float64), 1)


def test_random_input_is_seeded_rounded_and_reproducible_from_its_code():
    x = ex.random_input((4, 2), 3)
    assert torch.equal(x, ex.random_input((4, 2), 3)) and not torch.equal(x, ex.random_input((4, 2), 4))
    assert torch.allclose(torch.round(x.double() * 100), x.double() * 100, atol=1e-4)   # two decimals
    code = ex.random_input_code((4, 2), 3, torch.float32, batch_first=False)
    assert torch.equal(eval(code), ex.batch_of_one(x, False))
    assert ex.batch_of_one(x, True).shape == (1, 4, 2) and ex.batch_of_one(x, False).shape == (4, 1, 2)


def test_make_recurrent_and_random_state():
    m = ex.make_recurrent("LSTM", 2, 4, num_layers=2, bidirectional=True, proj_size=3, seed=1)
    h0, c0 = ex.random_state(m, batch=5)
    assert h0.shape == (4, 5, 3) and c0.shape == (4, 5, 4)
    assert ex.random_state(ex.make_recurrent("GRU", 1, 2), None).shape == (1, 2)
    with pytest.raises(ExplorerError, match="Unknown recurrent layer 'CNN'"):
        ex.make_recurrent("CNN", 1, 1)
    with pytest.raises(ExplorerError, match="Only an LSTM has proj_size"):
        ex.make_recurrent("GRU", 1, 2, proj_size=1)
    with pytest.raises(ExplorerError, match="These LSTM settings are not valid"):
        ex.make_recurrent("LSTM", 1, 2, proj_size=2)


def test_the_h_n_mistake_is_what_torch_computes():
    (m,) = ex.mistakes()
    t = m.trace
    assert torch.equal(t.output[-1], t.h_n[0])                               # h_n is output[-1]
    assert not torch.allclose(t.c_n[0], t.h_n[0])                            # the cell state is something else
    assert "h_n" in m.title and "output[-1]" in m.what_goes_wrong
