"""The Pooling and upsampling page in a real browser: it loads by its URL, controls redraw the chart and
land in the link, stepping is client-side, and a shared link opens the same view."""
import csv

from harness import open_page, plot_data, wait_idle


def _trace(pg, name, index=0):
    return next(d for d in plot_data(pg, index) if d["name"] == name)


def test_page_loads_by_its_url(app, page):
    open_page(page, f"{app}/pooling", chart_count=1)
    assert page.get_by_role("heading", name="Pooling and upsampling").is_visible()
    assert len(_trace(page, "output")["z"]) == 2  # the notes' 4x4 map pooled to 2x2
    assert page.console_errors == []


def test_kernel_size_slider_redraws_the_chart(app, page):
    open_page(page, f"{app}/pooling", chart_count=1)
    assert len(_trace(page, "output")["z"][0]) == 2
    slider = page.get_by_role("slider", name="kernel_size")
    slider.focus()
    slider.press("ArrowRight")
    wait_idle(page)
    # kernel 3, stride 2 on 4 cells: (4 - 3) // 2 + 1 = 1 output per axis
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const o = d.find(t => t.name === 'output'); return o && o.z.length === 1; }", timeout=30_000)
    assert len(_trace(page, "output")["z"][0]) == 1
    assert "pool.k=3" in page.url
    assert page.console_errors == []


def test_stepping_moves_the_window_without_the_server(app, page):
    open_page(page, f"{app}/pooling", chart_count=1)
    window = lambda: _trace(page, "window")["x"]  # noqa: E731
    before = window()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate("""() => { const gd = document.querySelectorAll('.js-plotly-plot')[0];
                            const last = gd._transitionData._frames.slice(-1)[0].name;
                            return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}}); }""")
    page.wait_for_timeout(500)
    after = window()
    assert after != before
    # the last 2x2 window covers columns 2 and 3 (cell edges 1.5 .. 3.5), and keeps the 9 at (3, 3)
    assert min(v for v in after if v is not None) == 1.5 and max(v for v in after if v is not None) == 3.5
    kept = [v for v in _trace(page, "kept")["x"] if v is not None]
    assert (min(kept), max(kept)) == (2.5, 3.5)
    assert requests == []
    assert page.console_errors == []


def test_a_shared_link_opens_the_same_upsampling_view(app, page):
    open_page(page, f"{app}/pooling?pool.view=Upsampling&pool.mode=nearest&pool.up.preset=counting+4%C3%974"
                    "&pool.upos0=2&pool.upos1=3", chart_count=1)
    output = _trace(page, "output")["z"]
    assert (len(output), len(output[0])) == (8, 8)
    assert output[2][3] == 6  # nearest floors: output (2, 3) copies input (1, 1) of 1..16
    assert page.get_by_text("The module computed 6 at output[0, 0, 2, 3].").is_visible()
    assert page.console_errors == []


def test_csv_download_holds_what_is_shown(app, page):
    open_page(page, f"{app}/pooling?pool.pos0=1&pool.pos1=1", chart_count=1)
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Download what is shown (CSV)").click()
    text = open(info.value.path(), encoding="utf-8").read()
    sections = [line for line in text.splitlines() if line.startswith("# ")]
    assert sections == ["# settings", "# input", "# output", "# window at output[0, 0, 1, 1]"]
    output = text.split("# output\n")[1].split("\n# ")[0].splitlines()[1:]
    assert [float(row.split(",")[-1]) for row in output] == [5.0, 8.0, 4.0, 9.0]  # the notes' pooled map
    window = list(csv.reader(text.split("# window at output[0, 0, 1, 1]\n")[1].splitlines()))
    assert window[0][1:] == ["input index", "position", "cell", "x", "kept"]
    assert [(row[1], row[4], row[5]) for row in window[1:5]] == [
        ("(0, 2, 2)", "0", ""), ("(0, 2, 3)", "7", ""), ("(0, 3, 2)", "1", ""), ("(0, 3, 3)", "9", "✓")]
    assert "nn.MaxPool2d(kernel_size=2, stride=2)" in text
    assert page.console_errors == []
