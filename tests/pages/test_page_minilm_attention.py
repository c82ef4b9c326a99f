"""The MiniLM page: real word pieces, every head drawn from the model's own attentions, one head's math
with real numbers equal to the model's, every head checked, and clear messages for bad sentences."""
import numpy as np
import pytest
import torch
from apptest import array, figures, run_page, texts, through_app

from explorer import minilm

PAGE = "minilm_attention"
DEFAULT = "The cat sat on the mat because it was tired."


@pytest.fixture(scope="module")
def model():
    return minilm.load()


def _reported(model, sentence):
    """The model's own attentions, straight from transformers."""
    tokenizer, m = model
    with torch.no_grad():
        out = m(**tokenizer(sentence, return_tensors="pt"), output_attentions=True)
    return out.attentions


def _check_ok(at):
    assert not at.exception, at.exception
    assert "match the attentions the model reports" in texts(at)
    assert "agree" in texts(at)


def _figure_with(at, trace_name):
    return next(f for f in figures(at) if any(d.get("name") == trace_name for d in f["data"]))


def test_defaults_show_every_head_and_the_math_of_it_in_head_0(model):
    at = run_page(PAGE)
    _check_ok(at)
    att = _reported(model, DEFAULT)
    view = _figure_with(at, "attention maps")
    z = np.array(array(next(d for d in view["data"] if d["name"] == "attention maps")["z"]), dtype=float)
    L = att[0].shape[-1]
    assert z.shape == (6 * (L + 1) - 1, 12 * (L + 1) - 1)                 # 72 thumbnails, one cell apart
    last = z[5 * (L + 1):5 * (L + 1) + L, 11 * (L + 1):11 * (L + 1) + L]   # layer 5, head 11
    assert np.allclose(last, att[5][0, 11].numpy(), atol=1e-6)
    assert any("13 word pieces" in c.value and "`because`" in c.value for c in at.caption)
    assert any("The math of head 0 for the query “it”" in h.value for h in at.subheader)
    table = at.dataframe[0].value
    assert table["weight (model)"].tolist() == pytest.approx(att[0][0, 0, 8].tolist(), abs=1e-6)
    assert table["weight (ours)"].tolist() == pytest.approx(att[0][0, 0, 8].tolist(), abs=1e-5)
    assert repr(DEFAULT) in at.code[0].value and "layer, head, query, d = 0, 0, 8, 32" in at.code[0].value


@pytest.mark.parametrize("layer, head, query", [(0, 2, 3), (3, 7, 0), (5, 11, 12)])
def test_a_chosen_head_and_query_show_the_models_numbers(model, layer, head, query):
    at = run_page(PAGE, **{"minilm.layer": layer, "minilm.head": head,
                           "minilm.query": f"{query}: {minilm.encode(*model, DEFAULT).tokens[query]}"})
    _check_ok(at)
    att = _reported(model, DEFAULT)
    heat = _figure_with(at, "selected head")   # the model view frames the selected head
    frame = next(d for d in heat["data"] if d.get("name") == "selected head")
    targets = next(d for d in heat["data"] if d.get("name") == "select a head")
    x, y = next((x, y) for c, x, y in zip(targets["customdata"], array(targets["x"]), array(targets["y"]))
                if list(c) == [layer, head])
    xs, ys = array(frame["x"]), array(frame["y"])
    assert min(xs) < x < max(xs) and min(ys) < y < max(ys)   # the frame runs round the chosen head's thumbnail
    table = at.dataframe[0].value
    assert table["weight (ours)"].tolist() == pytest.approx(att[layer][0, head, query].tolist(), abs=1e-5)
    assert f"layer {layer}, head {head} match" in texts(at)
    query_fig = _figure_with(at, "weight")
    weights = next(d for d in query_fig["data"] if d.get("name") == "weight")
    assert array(weights["x"]) == pytest.approx(att[layer][0, head, query].tolist(), abs=1e-5)


def test_a_typed_sentence_gets_its_own_word_pieces(model):
    at = run_page(PAGE, **{"minilm.text": "Tokenization is unbelievably fun!"})
    _check_ok(at)
    assert any("`##ization`" in c.value for c in at.caption)
    options = at.selectbox(key="minilm.query").options
    assert options[0] == "0: [CLS]" and options[2] == "2: ##ization" and options[-1] == "11: [SEP]"


@pytest.mark.parametrize("text, message", [("   ", "Type a sentence"), (" ".join(["word"] * 70), "word pieces")])
def test_bad_sentences_show_a_message_not_a_traceback(text, message):
    at = run_page(PAGE, **{"minilm.text": text})
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_a_shorter_sentence_forgets_a_query_it_does_not_have():
    at = run_page(PAGE, **{"minilm.query": "11: ."})
    _check_ok(at)
    at.text_input(key="minilm.text").set_value("Hello world").run()
    _check_ok(at)
    assert at.selectbox(key="minilm.query").value == "0: [CLS]"


def test_predict_hides_the_weights_until_checked(model):
    at = run_page(PAGE, **{"minilm.predict.on": True})
    assert not at.exception
    assert at.dataframe[0].value["weight (ours)"].isna().all()
    truth = float(_reported(model, DEFAULT)[0][0, 0, 8].max())
    at.number_input(key="minilm.predict.guess").set_value(round(truth, 6))
    next(b for b in at.button if b.label == "Check").click().run()
    assert any("Right: the module gives" in s.value for s in at.success)
    assert not at.dataframe[0].value["weight (ours)"].isna().any()


@pytest.mark.parametrize("key, value", [("minilm.layer", 4), ("minilm.head", 9), ("minilm.query", "0: [CLS]"),
                                        ("minilm.predict.on", True), ("minilm.tour", True),
                                        ("minilm.text", "Paris")])
def test_each_control_renders(key, value):
    _check_ok(run_page(PAGE, **{key: value}))


def test_a_link_sets_the_sentence_and_the_head():
    at = through_app("minilm_attention", {"minilm.text": "Paris is the capital of France.", "minilm.layer": "2", "minilm.head": "5",
                       "minilm.query": "6: france"})
    _check_ok(at)
    assert at.selectbox(key="minilm.layer").value == 2 and at.selectbox(key="minilm.head").value == 5
    assert at.selectbox(key="minilm.query").value == "6: france"
    assert not any("cannot use" in w.value for w in at.warning), [w.value for w in at.warning]


def test_hostile_link_values_fall_back_with_a_note():
    at = through_app("minilm_attention", {"minilm.layer": "99", "minilm.head": "-1", "minilm.query": "<img src=x onerror=alert(1)>"})
    assert not at.exception
    _check_ok(at)
    assert at.selectbox(key="minilm.layer").value == 0 and at.selectbox(key="minilm.head").value == 0
    assert any("This link had settings the page cannot use" in w.value for w in at.warning)
