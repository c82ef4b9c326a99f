"""Shared links: a URL reproduces the view; hostile parameters fall back to defaults with a note."""
import json
import urllib.request

from harness import open_page, plot_data


def _kernel(pg):
    return next(d for d in plot_data(pg) if d["name"] == "kernel")["z"]


def test_a_shared_link_opens_the_same_view(app, page):
    open_page(page, f"{app}/convolution?conv.k=5&conv.kpreset=blur&seed=7&conv.pad=2", chart_count=1)
    k = _kernel(page)
    assert (len(k), len(k[0])) == (5, 5)
    # a 5x5 binomial blur: outer([1,4,6,4,1]) / 256, centre 36/256
    assert abs(k[2][2] - 36 / 256) < 1e-12
    assert page.get_by_role("spinbutton", name="Random seed").input_value() == "7"
    # padding 2 around a 7x7 input: the stepper's input panel spans 11 columns, -2 .. 8
    xs = next(d for d in plot_data(page) if d["name"] == "input")["x"]
    assert xs[0] == -2 and xs[-1] == 8
    assert page.console_errors == []


def test_changing_a_control_updates_the_link_and_the_link_restores_it(app, page, browser):
    open_page(page, f"{app}/convolution", chart_count=1)
    page.get_by_role("slider", name="stride").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('conv.stride=2')", timeout=30_000)
    url = page.url
    other = browser.new_context().new_page()
    open_page(other, url, chart_count=1)
    # stride 2 over the 7x7 preset with a 3x3 kernel: a 3x3 output, so 9 animation frames
    frames = other.evaluate("() => document.querySelectorAll('.js-plotly-plot')[0]._transitionData._frames.length")
    assert frames == 9
    other.context.close()


def test_hostile_parameters_fall_back_to_defaults_with_a_note(app, page):
    hostile = ("conv.k=99999&conv.cin=-4&conv.kind=%3Cscript%3Ealert(1)%3C/script%3E&seed=1e400"
               "&conv.pad=%27%3B%20DROP%20TABLE&conv.typed=%60%60%60&unknown=%5Bx%5D(javascript:alert(1))")
    open_page(page, f"{app}/convolution?{hostile}", chart_count=1)
    k = _kernel(page)
    assert (len(k), len(k[0])) == (3, 3)  # the default kernel size
    note = page.get_by_text("This link had settings the page cannot use")
    assert note.is_visible()
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.console_errors == []


def test_presentation_mode_steps_with_the_arrow_keys(app, page):
    open_page(page, f"{app}/convolution?present=true", chart_count=1)
    assert not page.get_by_role("slider", name="kernel_size").is_visible()  # controls folded away
    outline = lambda: next(d for d in plot_data(page) if d["name"] == "window")["x"]  # noqa: E731
    before = outline()
    page.locator("h1").first.click()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(400)
    after = outline()
    # one step right: the window moves one column (cell edges shift by 1)
    assert [a - b for a, b in zip(after, before) if a is not None] == [1.0] * len([a for a in after if a is not None])
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(400)
    assert outline() == before
    assert page.console_errors == []


def test_no_other_site_may_drive_the_app_from_a_frame(app):
    # Streamlit obeys postMessage commands (rerun, stop, change page, set an auth token) from the
    # origins the server lists here; by default, sixteen hosting domains.
    config = json.loads(urllib.request.urlopen(f"{app}/_stcore/host-config", timeout=10).read())
    assert config["allowedOrigins"] == []
