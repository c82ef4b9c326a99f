"""The Digits CNN page in a real browser: it loads by its URL, a control redraws the network, clicking a
feature-map cell lands in that cell's math, the stepper steps without the server, links reproduce it."""
from harness import open_page, plot_data, wait_idle

CHARTS = 5  # network, stepper, filters, loss, confusion


def _input_pixels(pg):
    return next(d for d in plot_data(pg, 0) if d["name"] == "input")["z"]


def _click_cell(pg, map_name, row, col):
    """Click the centre of one cell of a feature map (a heatmap trace drawn from x0, y0 with unit
    cells), located through Plotly's own axis mapping."""
    box = pg.evaluate(
        """([name, row, col]) => {
             const gd = document.querySelectorAll('.js-plotly-plot')[0];
             gd.scrollIntoView();
             const t = gd._fullData.find(d => d.name === name);
             const xa = gd._fullLayout[t.xaxis.replace('x', 'xaxis')];
             const ya = gd._fullLayout[t.yaxis.replace('y', 'yaxis')];
             const r = gd.getBoundingClientRect();
             return {x: r.left + xa._offset + xa.l2p(t.x0 + col), y: r.top + ya._offset + ya.l2p(t.y0 + row)}; }""",
        [map_name, row, col])
    pg.mouse.click(box["x"], box["y"])


def test_the_page_loads_trains_and_draws_the_network(app, page):
    open_page(page, f"{app}/digits_cnn", chart_count=CHARTS, timeout=180_000)
    assert page.get_by_role("heading", name="A CNN that reads digits").is_visible()
    names = {d["name"] for d in plot_data(page, 0)}
    assert {"input", "conv1 channel 7", "pool2 channel 15", "probabilities"} <= names
    assert page.get_by_text("held-out test images right").is_visible()
    assert page.console_errors == []


def test_the_test_image_slider_redraws_the_network_and_the_link(app, page):
    open_page(page, f"{app}/digits_cnn", chart_count=CHARTS, timeout=180_000)
    before = _input_pixels(page)
    slider = page.get_by_role("slider", name="Test image")
    slider.focus()
    slider.press("ArrowRight")
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('digits.idx=1')", timeout=30_000)
    page.wait_for_timeout(500)
    assert _input_pixels(page) != before
    assert page.console_errors == []


def test_clicking_a_cell_lands_in_its_math(app, page):
    open_page(page, f"{app}/digits_cnn", chart_count=CHARTS, timeout=180_000)
    _click_cell(page, "pool1 channel 3", 1, 3)
    page.wait_for_function("() => location.search.includes('digits.stage=pool1')", timeout=30_000)
    wait_idle(page)
    heading = page.get_by_role("heading", name="The math behind pool1[3, 1, 3]")
    heading.wait_for(timeout=30_000)
    assert "digits.ch=3" in page.url and "digits.row=1" in page.url and "digits.col=3" in page.url
    # the window it reads is outlined on relu1's map of the same channel, in conv1's column
    windows = [d for d in plot_data(page, 0) if d["name"] == "window"]
    assert len(windows) == 1
    assert page.get_by_text("agree (largest difference").first.is_visible()
    assert page.console_errors == []


def test_the_stepper_steps_in_the_browser(app, page):
    open_page(page, f"{app}/digits_cnn?digits.stage=conv1&digits.row=0&digits.col=0", chart_count=CHARTS,
              timeout=180_000)
    outline = lambda: next(d for d in plot_data(page, 1) if d["name"] == "window")["x"]  # noqa: E731
    before = outline()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate("""() => { const gd = document.querySelectorAll('.js-plotly-plot')[1];
                            const last = gd._transitionData._frames.slice(-1)[0].name;
                            return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}}); }""")
    page.wait_for_timeout(500)
    after = outline()
    assert after != before
    # the last window of conv1 (8x8 output, padding 1) covers input columns 6..8 (edges 5.5 .. 8.5)
    assert max(v for v in after if v is not None) == 8.5
    assert requests == []
    assert page.console_errors == []


def test_a_shared_link_opens_the_same_cell(app, page):
    open_page(page, f"{app}/digits_cnn?digits.stage=conv2&digits.ch=9&digits.row=3&digits.col=0&digits.idx=25",
              chart_count=CHARTS, timeout=180_000)
    assert page.get_by_role("heading", name="The math behind conv2[9, 3, 0] and its ReLU").is_visible()
    traces = {d["name"]: d for d in plot_data(page, 0)}
    selected, heatmap = traces["selected"], traces["conv2 channel 9"]
    assert min(v for v in selected["x"] if v is not None) == heatmap["x0"] - 0.5   # column 0 of channel 9
    assert min(v for v in selected["y"] if v is not None) == heatmap["y0"] + 3 - 0.5   # row 3
    assert page.console_errors == []
