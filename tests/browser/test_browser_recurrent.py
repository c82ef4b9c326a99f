"""The Recurrent page in a real browser: it loads by its URL, a control change redraws the gates, a
shared link opens the same view, and stepping through time runs in the browser."""
from harness import open_page, plot_data, wait_idle

URL = "/recurrent"


def _heatmap_names(pg, index=0):
    return [d["name"] for d in plot_data(pg, index) if d["type"] == "heatmap"]


def _outline_x(pg, index=0):
    """The x corners of the first outline of the step (the orange box) in a chart."""
    return next(d for d in plot_data(pg, index) if d["type"] == "scatter")["x"]


def test_the_page_loads_by_its_url_with_its_charts(app, page):
    open_page(page, f"{app}{URL}", chart_count=6)
    assert page.get_by_role("heading", name="Recurrent layers: RNN, LSTM, GRU").first.is_visible()
    assert _heatmap_names(page) == ["x", "input", "forget", "cell", "output"]
    forget = next(d for d in plot_data(page) if d["name"] == "forget")["z"]
    assert len(forget) == 4 and len(forget[0]) == 24                          # 4 units x 24 steps of the sine
    assert all(0 < v < 1 for row in forget for v in row)                     # a sigmoid gate
    assert page.get_by_text("agree").first.is_visible()
    assert page.console_errors == []


def test_hidden_size_redraws_the_gates(app, page):
    open_page(page, f"{app}{URL}", chart_count=6)
    field = page.get_by_role("spinbutton", name="hidden_size")
    field.fill("6")
    field.press("Enter")
    page.wait_for_function("() => location.search.includes('rec.hidden=6')", timeout=30_000)
    wait_idle(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const f = d.find(t => t.name === 'forget'); return f && f.z.length === 6; }", timeout=60_000)
    forget = next(d for d in plot_data(page) if d["name"] == "forget")["z"]
    assert len(forget) == 6
    assert page.console_errors == []


def test_a_shared_link_opens_the_same_view(app, page):
    open_page(page, f"{app}{URL}?rec.kind=GRU&rec.hidden=3&rec.preset=step&rec.t=7", chart_count=6)
    assert _heatmap_names(page) == ["x", "reset", "update", "new"]
    x = next(d for d in plot_data(page) if d["name"] == "x")["z"]
    assert x == [[0.0] * 5 + [1.0] * 7]                                      # the step preset
    assert len(next(d for d in plot_data(page) if d["name"] == "update")["z"]) == 3
    corners = _outline_x(page)
    assert (min(corners), max(corners)) == (6.5, 7.5)                         # the player starts at t = 7
    assert page.get_by_role("heading", name="The math at step t = 7").first.is_visible()
    assert page.console_errors == []


def test_stepping_through_time_runs_in_the_browser(app, page):
    open_page(page, f"{app}{URL}", chart_count=6)
    before = _outline_x(page)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate("""() => { const gd = document.querySelectorAll('.js-plotly-plot')[0];
                            const last = gd._transitionData._frames.slice(-1)[0].name;
                            return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}}); }""")
    page.wait_for_timeout(500)
    after = _outline_x(page)
    assert after != before and (min(after), max(after)) == (22.5, 23.5)    # the last of 24 steps
    assert requests == []                                                     # no server round trip
    # the unrolled cell steps too: its numbers change with the frame
    cell = page.evaluate("""() => { const gds = Array.from(document.querySelectorAll('.js-plotly-plot'));
        const gd = gds.find(g => ((g.layout.title || {}).text || '').includes('cell, layer 0'));
        const first = gd._fullData[0].text.slice();
        const last = gd._transitionData._frames.slice(-1)[0].name;
        return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}})
                     .then(() => [first, gd._fullData[0].text.slice()]); }""")
    assert cell[0] != cell[1]
    assert requests == []
    assert page.console_errors == []


def test_play_button_animates(app, page):
    open_page(page, f"{app}{URL}", chart_count=6)
    before = _outline_x(page)
    page.locator(".js-plotly-plot").first.locator(".updatemenu-button").first.click()
    page.wait_for_timeout(1600)
    assert _outline_x(page) != before
    assert page.console_errors == []


def test_an_uploaded_csv_column_is_the_input(app, page, tmp_path):
    values = [round(0.1 * k - 1, 3) for k in range(30)]
    path = tmp_path / "series.csv"
    path.write_text("t,value\n" + "\n".join(f"{k},{v}" for k, v in enumerate(values)))
    open_page(page, f"{app}{URL}?rec.src=CSV%20upload", chart_count=6)
    assert page.get_by_text("until then the sine wave preset is used").first.is_visible()
    page.locator("input[type='file']").set_input_files(str(path))
    wait_idle(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Column").click()
    page.get_by_role("option", name="value").click()
    wait_idle(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const x = d.find(t => t.name === 'x'); return x && x.z[0].length === 30 && x.z[0][0] < -0.9; }",
        timeout=60_000)                                                        # the value column, not t
    x = next(d for d in plot_data(page) if d["name"] == "x")["z"][0]
    assert max(abs(a - b) for a, b in zip(x, values)) < 1e-6
    assert page.console_errors == []


def test_a_bad_csv_gets_a_message(app, page, tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("name,colour\ncat,black\ndog,brown\n")
    open_page(page, f"{app}{URL}?rec.src=CSV%20upload", chart_count=6)
    page.locator("input[type='file']").set_input_files(str(path))
    wait_idle(page)
    page.get_by_text("No column of that CSV holds only numbers").first.wait_for(timeout=30_000)
    assert page.console_errors == []
