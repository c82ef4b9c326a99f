"""Every page, in a real browser: it loads from its own link, survives hostile link parameters with
a visible note, follows the global seed from the link, and never shows a traceback or a console error."""
import pytest

from harness import open_page, wait_idle

PAGES = {"convolution": "conv", "pooling": "pool", "recurrent": "rec", "attention": "attention",
         "normalization": "norm", "building_blocks": "blocks", "time_series": "ts", "digits_cnn": "digits",
         "minilm_attention": "minilm"}
HOSTILE = ("seed=-5&present=maybe&imgfmt=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
           "&{p}.nonexistent=1e400&{p}.kind=%27%3B%20DROP%20TABLE%20x%3B--&{p}.size=99999999999")


def _no_traceback(pg):
    assert pg.get_by_text("Traceback").count() == 0
    assert pg.locator("[data-testid='stException']").count() == 0


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_from_its_link_with_a_chart(app, page, path):
    open_page(page, f"{app}/{path}", chart_count=1, timeout=240_000)
    assert page.locator("h1").first.is_visible()
    _no_traceback(page)
    assert page.console_errors == []


@pytest.mark.parametrize("path, prefix", PAGES.items())
def test_hostile_link_parameters_fall_back_with_a_note(app, page, path, prefix):
    open_page(page, f"{app}/{path}?{HOSTILE.format(p=prefix)}", chart_count=1, timeout=240_000)
    page.get_by_text("This link had settings the page cannot use").wait_for(timeout=30_000)
    assert page.get_by_role("spinbutton", name="Random seed").input_value() == "0"   # -5 refused
    assert page.locator("img[src='x']").count() == 0                                # nothing injected
    _no_traceback(page)
    assert page.console_errors == []


@pytest.mark.parametrize("path", PAGES)
def test_the_seed_in_a_link_is_the_seed_on_the_page(app, page, path):
    open_page(page, f"{app}/{path}?seed=1234", chart_count=1, timeout=240_000)
    assert page.get_by_role("spinbutton", name="Random seed").input_value() == "1234"
    seed = page.get_by_role("spinbutton", name="Random seed")
    seed.fill("77")
    seed.press("Enter")
    wait_idle(page, timeout=240_000)
    page.wait_for_function("() => location.search.includes('seed=77')", timeout=60_000)
    _no_traceback(page)
    assert page.console_errors == []


@pytest.mark.parametrize("path", PAGES)
def test_every_chart_is_drawn_once_in_the_margins_it_asked_for(app, page, path):
    """plotly.js draws a chart again, whole, when its labels, colour bars, legends or sliders need
    wider margins than the figure asked for: a chart that asked enough is drawn once."""
    open_page(page, f"{app}/{path}", chart_count=1, timeout=240_000)
    page.wait_for_timeout(1000)
    wider = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'), g => {
        const L = g._fullLayout, sides = ['l', 'r', 't', 'b'];
        return sides.some(s => L._size[s] > L.margin[s] + 1)
            ? `${(L.title && L.title.text) || 'untitled'}: asked ${sides.map(s => L.margin[s])}, drawn with ${sides.map(s => L._size[s])}`
            : null; }).filter(Boolean)""")
    assert wider == []
