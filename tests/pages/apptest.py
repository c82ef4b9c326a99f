"""Helpers for running a page under streamlit.testing.v1.AppTest."""
import json
import re
from pathlib import Path

import plotly_data
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # the first import of torch alone can take longer than AppTest's 3 s default


def run_page(name, **state):
    """Run pages/<name>.py with session-state values preset (widget key -> value)."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def figures(at):
    """Every plotly figure the page drew, as plotly JSON dicts."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def texts(at):
    """All markdown, success and error text on the page, for substring checks."""
    parts = [m.value for m in at.markdown] + [s.value for s in at.success] + [e.value for e in at.error]
    return "\n".join(parts)


def array(value):
    """A plotly data array as a nested list (plotly sends numpy arrays base64-encoded)."""
    if isinstance(value, dict) and "bdata" in value:
        return plotly_data.array(value).tolist()
    return value


def check_ok(at, *phrases):
    """No exception, the module-vs-manual badge, and every given phrase somewhere in the page text."""
    assert not at.exception, at.exception
    text = texts(at)
    assert "agree" in text, "the module-vs-manual badge is missing"
    for phrase in phrases:
        assert phrase in text, phrase


def through_app(page, params):
    """Open pages/<page>.py the way a shared link does: through app.py, with query parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    return at.run()


def titles(at):
    """The title text of every figure the page drew."""
    return [(f["layout"].get("title") or {}).get("text", "") for f in figures(at)]


def bold_after(text, prefix):
    """The bold number that follows `prefix` in the page text, e.g. the value of 'x̂ = ... = **v**'."""
    m = re.search(re.escape(prefix) + r"[^*\n]*\*\*(-?[\d.e+-]+)\*\*", text)
    assert m, f"{prefix!r} not found"
    return float(m.group(1))
