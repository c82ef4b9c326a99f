"""The Time-series page in a real browser: it loads by its URL, controls redraw and land in the link,
a shared link opens the same view, predictions step client-side, a CSV upload is forecast."""
from harness import open_page, plot_data, wait_idle

from explorer.timeseries import synthetic

WINDOW_TRACE = "window it read (size = weight)"
CHARTS = 5  # loss, forecast, flow, stage values, the first stage's view


def _trace(pg, name):
    """x0, x and y of the named trace, wherever it is on the page, as the browser holds it."""
    return pg.evaluate(
        """(name) => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
                         const d = gd._fullData.find(t => t.name === name);
                         if (d) return {x0: d.x0, x: Array.from(d.x || []), y: Array.from(d.y || [])}; }
                       return null; }""", name)


def _stage_cells(pg):
    """How many steps the stage view's input row has."""
    for i in range(CHARTS):
        x = next((d for d in plot_data(pg, i) if d["name"] == "x"), None)
        if x is not None:
            return len(x["z"][0])
    return None


def test_the_page_loads_by_its_url_path(app, page):
    open_page(page, f"{app}/time_series", chart_count=CHARTS)
    assert page.get_by_role("heading", name="Time-series pipeline").is_visible()
    assert page.get_by_text("[seq, batch, features]").first.is_visible()
    assert _stage_cells(page) == 24
    assert page.console_errors == []


def test_the_window_slider_retrains_redraws_and_lands_in_the_link(app, page):
    open_page(page, f"{app}/time_series", chart_count=CHARTS)
    slider = page.locator("input[aria-label='Window']")
    slider.focus()
    slider.press("ArrowRight")
    wait_idle(page)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(gd => {
                   const x = gd._fullData.find(t => t.name === 'x'); return x && x.z[0].length === 25; })""",
        timeout=90_000)
    assert _stage_cells(page) == 25
    assert "ts.window=25" in page.url
    assert page.console_errors == []


def test_a_shared_link_opens_the_same_view(app, page):
    open_page(page, f"{app}/time_series?ts.kind=steps&ts.window=16&ts.t=100&seed=7", chart_count=CHARTS)
    series = _trace(page, "series")
    expected = synthetic("steps", 160, seed=7).tolist()
    assert len(series["y"]) == 160 and max(abs(a - b) for a, b in zip(series["y"], expected)) < 1e-9
    window = _trace(page, WINDOW_TRACE)
    assert window["x0"] == 84 and len(window["y"]) == 16          # the 16 steps before step 100
    assert _stage_cells(page) == 16
    assert page.get_by_role("spinbutton", name="Random seed").input_value() == "7"
    assert page.console_errors == []


def test_hostile_parameters_fall_back_to_defaults_with_a_note(app, page):
    hostile = "ts.window=99999&ts.hidden=-3&ts.kind=%3Cscript%3Ealert(1)%3C/script%3E&ts.lr=%27%3B%20DROP&ts.t=1e400"
    open_page(page, f"{app}/time_series?{hostile}", chart_count=CHARTS)
    assert page.get_by_text("This link had settings the page cannot use").is_visible()
    assert _stage_cells(page) == 24
    assert page.console_errors == []


def test_stepping_through_predictions_needs_no_server(app, page):
    open_page(page, f"{app}/time_series", chart_count=CHARTS)
    before = _trace(page, WINDOW_TRACE)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate("""() => { const gd = Array.from(document.querySelectorAll('.js-plotly-plot'))
                               .find(g => g._fullData.some(t => t.name === 'one-step prediction'));
                             const last = gd._transitionData._frames.slice(-1)[0].name;
                             return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}}); }""")
    page.wait_for_timeout(500)
    after = _trace(page, WINDOW_TRACE)
    assert before["x0"] == 104                                     # the first held-out prediction, of step 128
    assert after["x0"] == 159 - 24                                 # the last prediction, of step 159
    assert after["y"] != before["y"]
    assert requests == []
    assert page.console_errors == []


def test_presentation_mode_arrow_keys_step_the_predictions(app, page):
    # 120 values: 96 predictions, each its own frame, so one key press is one step
    open_page(page, f"{app}/time_series?present=true&ts.len=120", chart_count=CHARTS)
    assert not page.locator("input[aria-label='Window']").is_visible()  # controls folded away
    before = _trace(page, WINDOW_TRACE)["x0"]
    page.locator("h1").first.click()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(400)
    assert _trace(page, WINDOW_TRACE)["x0"] == before + 1
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(400)
    assert _trace(page, WINDOW_TRACE)["x0"] == before
    assert page.console_errors == []


def test_an_uploaded_csv_column_is_forecast(app, page, tmp_path):
    values = [round(v, 6) for v in synthetic("trend + noise", 72, seed=2).tolist()]
    path = tmp_path / "sales.csv"
    path.write_text("week,sales\n" + "\n".join(f"{i},{v}" for i, v in enumerate(values)))
    open_page(page, f"{app}/time_series?ts.src=CSV%20upload&ts.window=8&ts.steps=50", chart_count=CHARTS)
    page.locator("input[type='file']").set_input_files(str(path))
    wait_idle(page)
    page.get_by_text("Column").first.wait_for()
    page.locator("[data-testid='stSelectbox']").filter(has_text="Column").click()
    page.get_by_role("option", name="sales").click()
    wait_idle(page)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(gd => {
                   const s = gd._fullData.find(t => t.name === 'series'); return s && s.y.length === 72; })""",
        timeout=90_000)
    series = _trace(page, "series")
    assert max(abs(a - b) for a, b in zip(series["y"], values)) < 1e-9
    assert page.console_errors == []
