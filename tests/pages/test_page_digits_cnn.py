"""The Digits CNN page: it trains once, draws the whole network, lands on the math of exactly the chosen
cell with the network's own value, validates uploads, and round-trips its state through the URL."""
import io

import pytest
import torch
from apptest import ROOT, TIMEOUT, array, check_ok, figures, run_page, texts, through_app
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from explorer import digits

PAGE = "digits_cnn"


@pytest.fixture(scope="module")
def network():
    """The same network the page trains by default (same config, same seed, same epochs)."""
    return digits.train(digits.TrainConfig(size=8, seed=0))



def _figure(at, first_trace_name):
    return next(f for f in figures(at) if f["data"] and f["data"][0].get("name") == first_trace_name)


def _hooked(model, image):
    seen = {}
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o))
             for n in digits.STAGES]
    with torch.no_grad():
        model(image.reshape(1, 1, *image.shape[-2:]))
    for h in hooks:
        h.remove()
    return seen


def test_defaults_train_the_network_and_draw_it(network):
    at = run_page(PAGE)
    check_ok(at)
    assert f"**{network.test_accuracy:.1%}** of the 359 held-out test images" in texts(at)
    net = _figure(at, "input")
    heatmaps = [d for d in net["data"] if d["type"] == "heatmap"]
    assert len(heatmaps) == 49                       # the input and 8 + 8 + 16 + 16 feature maps
    image = digits.load_data(8).test_x[0]
    assert torch.allclose(torch.tensor(array(heatmaps[0]["z"])).float(), image[0])
    probs = next(d for d in net["data"] if d.get("name") == "probabilities")
    assert probs["x"] == pytest.approx(digits.predict(network.model, image).tolist(), abs=1e-6)
    # the default cell is conv2[0, 2, 2]: its math panel and the stepper started on it
    assert any("conv2[0, 2, 2]" in h.value for h in at.subheader)
    stepper = next(f for f in figures(at) if f.get("frames"))
    assert stepper["layout"]["sliders"][0]["active"] == 2 * 4 + 2


@pytest.mark.parametrize("stage, cell", [("conv1", (2, 3, 5)), ("pool1", (6, 0, 3)), ("conv2", (11, 1, 0)),
                                         ("pool2", (15, 1, 1))])
def test_the_math_panel_shows_the_networks_own_value_at_the_cell(network, stage, cell):
    c, r, col = cell
    at = run_page(PAGE, **{"digits.stage": stage, "digits.ch": c, "digits.row": r, "digits.col": col,
                           "digits.idx": 42})
    check_ok(at)
    seen = _hooked(network.model, digits.load_data(8).test_x[42])
    shown = seen[{"conv1": "relu1", "conv2": "relu2"}.get(stage, stage)][0, c, r, col]
    assert any(f"{stage}[{c}, {r}, {col}]" in h.value for h in at.subheader)
    assert f"the network's own activation there is **{float(shown):.6g}**" in texts(at)
    if stage.startswith("conv"):
        total = float(seen[stage][0, c, r, col])
        assert f"= **{total:.6g}**" in texts(at)
    table = at.dataframe[0].value
    assert len(table) == {"conv1": 9, "conv2": 72}.get(stage, 4)


@pytest.mark.parametrize("key, value", [
    ("digits.size", "16×16"), ("digits.idx", 358), ("digits.which", "only the ones it reads wrong"),
    ("digits.stage", "pool2"), ("digits.ch", 7), ("digits.row", 0), ("digits.col", 7), ("digits.cin", 5),
    ("digits.src", "upload"), ("digits.invert", False), ("digits.predict.on", True), ("digits.tour", True),
    ("seed", 3),
])
def test_each_control_renders(key, value):
    check_ok(run_page(PAGE, **{key: value}))


def test_the_wrong_ones_are_the_ones_the_network_misreads(network):
    at = run_page(PAGE, **{"digits.which": "only the ones it reads wrong"})
    check_ok(at)
    choice = at.selectbox(key="digits.wrong")
    data = digits.load_data(8)
    with torch.no_grad():
        wrong = (network.model(data.test_x).argmax(1) != data.test_y).nonzero().flatten().tolist()
    assert len(choice.options) == len(wrong) > 0
    i = wrong[0]
    assert choice.value.startswith(f"#{i}: a {int(data.test_y[i])} read as")
    assert f"wrong: the true label is **{int(data.test_y[i])}**" in texts(at)


def test_a_stage_with_smaller_maps_pulls_the_cell_back_in():
    at = run_page(PAGE, **{"digits.stage": "conv1", "digits.ch": 7, "digits.row": 7, "digits.col": 7})
    check_ok(at)
    at.selectbox(key="digits.stage").set_value("pool2").run()
    check_ok(at)
    assert any("pool2[7, 1, 1]" in h.value for h in at.subheader)


def test_predict_hides_the_products_until_checked(network):
    at = run_page(PAGE, **{"digits.predict.on": True, "digits.stage": "conv1", "digits.ch": 1, "digits.row": 2,
                           "digits.col": 4})
    check_ok(at)
    assert at.dataframe[0].value["x · w"].isna().all()
    assert "ReLU keeps" not in texts(at)
    truth = float(_hooked(network.model, digits.load_data(8).test_x[0])["relu1"][0, 1, 2, 4])
    at.number_input(key="digits.predict.guess").set_value(round(truth, 6))
    next(b for b in at.button if b.label == "Check").click().run()
    assert any("Right: the module gives" in s.value for s in at.success)
    assert not at.dataframe[0].value["x · w"].isna().any()
    assert "ReLU keeps" in texts(at)


def _png(invert=False):
    img = Image.new("L", (40, 60), 0 if invert else 255)
    ImageDraw.Draw(img).ellipse([6, 6, 34, 54], outline=255 if invert else 0, width=6)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_an_uploaded_digit_goes_through_the_network():
    at = run_page(PAGE, **{"digits.src": "upload"})
    check_ok(at)
    assert any("Upload a picture" in i.value for i in at.info)
    at.file_uploader[0].set_value(("zero.png", _png(), "image/png")).run()
    check_ok(at)
    net = _figure(at, "input")
    z = array(net["data"][0]["z"])
    # 40x60 becomes 5x8, centred in columns 1..5: a bright ring with a dark middle at (4, 3)
    assert len(z) == 8 and max(max(r) for r in z) == 1.0 and z[4][3] < 0.3 and z[4][0] == 0


@pytest.mark.parametrize("data, message", [(b"definitely not a png", "not an image"),
                                           (None, "flat colour")])
def test_a_bad_upload_shows_a_message_not_a_traceback(data, message):
    if data is None:
        buf = io.BytesIO()
        Image.new("L", (20, 20), 200).save(buf, format="PNG")
        data = buf.getvalue()
    at = run_page(PAGE, **{"digits.src": "upload"})
    at.file_uploader[0].set_value(("digit.png", data, "image/png")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_a_link_sets_the_controls():
    # (a control changing the link is checked in the browser: AppTest does not follow bound widgets)
    at = AppTest.from_file(str(ROOT / "pages" / f"{PAGE}.py"), default_timeout=TIMEOUT)
    at.query_params.update({"digits.stage": "pool1", "digits.ch": "4", "digits.row": "3", "digits.col": "1",
                            "digits.idx": "17", "digits.size": "8×8"})
    at.run()
    check_ok(at)
    assert at.selectbox(key="digits.stage").value == "pool1" and at.number_input(key="digits.ch").value == 4
    assert at.slider(key="digits.idx").value == 17
    assert any("pool1[4, 3, 1]" in h.value for h in at.subheader)


def test_hostile_link_values_fall_back_with_a_note():
    at = through_app("digits_cnn", {"digits.stage": "<script>alert(1)</script>", "digits.ch": "-4", "digits.idx": "1e9",
                       "digits.size": "'; DROP TABLE", "digits.row": "abc"})
    assert not at.exception
    assert "agree" in texts(at)
    assert at.selectbox(key="digits.stage").value == "conv2" and at.slider(key="digits.idx").value == 0
    assert any("This link had settings the page cannot use" in w.value for w in at.warning)


def test_a_clean_link_raises_no_note():
    at = through_app("digits_cnn", {"digits.stage": "conv1", "digits.size": "8×8", "digits.ch": "3"})
    assert not at.exception
    assert not any("cannot use" in w.value for w in at.warning), [w.value for w in at.warning]


def test_the_pages_snippet_prints_the_cell_it_shows(network):
    import subprocess
    import sys
    at = run_page(PAGE, **{"digits.stage": "conv2", "digits.ch": 6, "digits.row": 1, "digits.col": 3,
                           "digits.idx": 9})
    check_ok(at)
    out = subprocess.run([sys.executable, "-c", at.code[0].value], capture_output=True, text=True, timeout=120,
                         check=True)
    seen = _hooked(network.model, digits.load_data(8).test_x[9])
    total, relu = (float(v) for v in out.stdout.split())
    assert total == pytest.approx(float(seen["conv2"][0, 6, 1, 3]), abs=1e-5)
    assert relu == pytest.approx(float(seen["relu2"][0, 6, 1, 3]), abs=1e-5)
