"""The server draws figures it never validates (spec.VALIDATE is off outside the tests): every page
must send the browser exactly what the validated figures send."""
import pytest
import streamlit as st
from apptest import ROOT, TIMEOUT, figures, run_page
from streamlit.testing.v1 import AppTest

from explorer.figures import spec

PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "home")


def drawn(monkeypatch, name, validate):
    monkeypatch.setattr(spec, "VALIDATE", validate)
    st.cache_data.clear()
    st.cache_resource.clear()
    # home links to the other pages, so it runs inside app.py's navigation
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=5 * TIMEOUT).run() if name == "home" else run_page(name)
    assert not at.exception, at.exception
    return figures(at)


@pytest.mark.parametrize("name", PAGES + ["home"])
def test_unvalidated_figures_send_what_validated_ones_send(monkeypatch, name):
    validated = drawn(monkeypatch, name, True)
    assert validated, "the page drew no figure"
    assert drawn(monkeypatch, name, False) == validated
