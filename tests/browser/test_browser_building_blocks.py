"""Building blocks in a real browser: loads by its URL, controls redraw, stepping is client-side, links hold the view."""
from harness import open_page, plot_data, wait_idle

URL = "/building_blocks"


def _ys(pg, name, index=0):
    """The y values of the named trace of the index-th chart (plot_data carries x and z only)."""
    return pg.evaluate("""([i, name]) => { const gd = document.querySelectorAll('.js-plotly-plot')[i];
                                           const d = gd._fullData.find(t => t.name === name);
                                           return Array.from(d.y); }""", [index, name])


def _z(pg, name, index=0):
    return next(d for d in plot_data(pg, index) if d["name"] == name)["z"]


def _animate_to_last(pg, index=0):
    pg.evaluate("""(i) => { const gd = document.querySelectorAll('.js-plotly-plot')[i];
                            const last = gd._transitionData._frames.slice(-1)[0].name;
                            return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}}); }""", index)
    pg.wait_for_timeout(500)


def test_page_loads_by_its_url_with_the_linear_stepper(app, page):
    open_page(page, f"{app}{URL}", chart_count=1)
    assert page.get_by_role("heading", name="Building blocks").is_visible()
    # the hand example: W = [[1, 2], [3, 4]], x = [1, 1]; output 0's products are 1·1 and 1·2
    assert _z(page, "weights") == [[1, 2], [3, 4]]
    assert _ys(page, "products") == [1, 2]
    assert page.console_errors == []


def test_stepping_through_the_outputs_runs_in_the_browser(app, page):
    open_page(page, f"{app}{URL}", chart_count=1)
    sent = []
    page.on("request", lambda r: sent.append(r.url))
    _animate_to_last(page)
    assert _ys(page, "products") == [3, 4]                      # output 1: 1·3 and 1·4
    assert _ys(page, "selected row")[:2] == [0.5, 0.5]          # the outline moved down one row
    assert sent == []
    assert page.console_errors == []


def test_a_slider_change_redraws_the_dropout_chart(app, page):
    open_page(page, f"{app}{URL}?blocks.tab=Dropout&seed=38", chart_count=3)
    assert _z(page, "train output") == [[2, 0, 0, 8, 0]]        # the notes' example with seed 38
    slider = page.get_by_role("slider", name="p: chance of dropping each value")
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('blocks.drop.p=0.55')", timeout=30_000)
    wait_idle(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const t = d.find(t => t.name === 'train output'); return t && t.z[0][0] !== 2 || t.z[0][3] !== 8; }",
        timeout=30_000)
    scaled = [v for v in _z(page, "train output")[0] if v]
    x = [1, 2, 3, 4, 5]
    # every kept value is x / (1 - 0.55) = x / 0.45
    assert scaled and all(any(abs(v - xi / 0.45) < 1e-9 for xi in x) for v in scaled)
    assert page.console_errors == []


def test_the_samples_player_animates_the_running_mean(app, page):
    open_page(page, f"{app}{URL}?blocks.tab=Dropout&seed=38", chart_count=3)
    before = _ys(page, "running mean", 1)
    assert before == [2, 0, 0, 8, 0]                             # the mean of one sample is that sample
    page.locator(".js-plotly-plot").nth(1).locator(".updatemenu-button").first.click()
    page.wait_for_timeout(2500)
    after = _ys(page, "running mean", 1)
    assert after != before and all(v > 0 for v in after)        # a few samples in, every entry has been kept
    assert page.console_errors == []


def test_tabs_and_controls_go_into_the_link_and_the_link_restores_them(app, page, browser):
    open_page(page, f"{app}{URL}", chart_count=1)
    page.get_by_role("tab", name="Activations").click()
    page.wait_for_function("() => location.search.includes('blocks.tab=Activations')", timeout=30_000)
    wait_idle(page)
    page.get_by_role("combobox", name="Activation").click()
    page.get_by_role("option", name="Tanh", exact=True).click()
    page.wait_for_function("() => location.search.includes('blocks.act.name=Tanh')", timeout=30_000)
    url = page.url
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    open_page(other, url, chart_count=1)
    assert other.get_by_role("heading", name="Tanh: the curve, its slope, and your inputs on it").is_visible()
    xs, ys = plot_data(other)[0]["x"], _ys(other, "f")
    assert abs(ys[-1] - 0.9999877116507956) < 1e-9 and xs[-1] == 6    # tanh(6) at the right end of the curve
    other.context.close()
    assert page.console_errors == []


def test_presentation_mode_folds_controls_and_arrow_keys_step(app, page):
    open_page(page, f"{app}{URL}?present=true", chart_count=1)
    assert not page.get_by_role("combobox", name="Preset").is_visible()   # controls folded away
    assert _ys(page, "products") == [1, 2]
    page.locator("h1").first.click()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(500)
    assert _ys(page, "products") == [3, 4]
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(500)
    assert _ys(page, "products") == [1, 2]
    assert page.console_errors == []
