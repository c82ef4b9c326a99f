"""The home page, run through app.py's navigation: one card per page, each with its live preview."""
import ast

import torch
from torch import nn

from apptest import ROOT, TIMEOUT, array, figures
from streamlit.testing.v1 import AppTest


def _registered_pages():
    """The page files app.py hands to st.navigation, home excluded (read from its source)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "Page"]
    return [c.args[0].value for c in calls if c.args[0].value != "pages/home.py"]


def test_every_page_has_a_card_with_a_live_preview():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=5 * TIMEOUT).run()
    assert not at.exception, at.exception
    pages = _registered_pages()
    assert len(pages) == 9
    assert len(at.subheader) == len(pages)             # one card each
    assert len(figures(at)) == len(pages)              # each with its preview


def test_the_convolution_preview_is_the_real_sobel_output():
    from explorer.examples.conv import input_preset, kernel_preset
    from explorer.figures.conv import preview
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(kernel_preset("edge (Sobel x)", 3, 2).float().view(1, 1, 3, 3))
        expected = conv(input_preset("digit 7", 1).float().unsqueeze(0))[0, 0]
    z = array(preview().to_plotly_json()["data"][0]["z"])
    assert torch.allclose(torch.tensor(z, dtype=torch.float64), expected.double(), atol=1e-6)
