"""The Normalization page in a real browser: it loads by its URL, switching the layer regroups the cells,
clicking a cell selects it, and stepping through training batches and batch sizes is client-side."""
from harness import open_page, plot_data, wait_idle

URL = "/normalization"


def _colours(pg, index=0):
    """The grouping heatmap's colour ids as drawn (NaN gaps dropped)."""
    z = next(d for d in plot_data(pg, index) if d["type"] == "heatmap")["z"]
    return [[v for v in row if v == v and v is not None] for row in z]


def _title(pg, index):
    """A chart's title as the browser holds it, without <b> tags (a chart theme may add them)."""
    return pg.evaluate("""(i) => ((document.querySelectorAll('.js-plotly-plot')[i].layout.title || {}).text || '')
                              .replace(/<\\/?b>/g, '')""", index)


def _chart_index(pg, title_start):
    count = pg.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
    return next((i for i in range(count) if _title(pg, i).startswith(title_start)), -1)


def test_the_page_loads_by_its_url_with_its_charts(app, page):
    open_page(page, f"{app}{URL}", chart_count=5)
    assert page.get_by_role("heading", name="Normalization").first.is_visible()
    # BatchNorm2d on 4 x 4 x 3 x 3: the first row of cells (sample 0, row 0) crosses 4 channels, 4 colours
    assert len(set(_colours(page)[0])) == 4
    assert page.get_by_text("agree").first.is_visible()
    assert page.console_errors == []


def test_switching_to_layernorm_regroups_the_cells(app, page):
    open_page(page, f"{app}{URL}", chart_count=5)
    before = _colours(page)
    # the radio option, not a chart's "LayerNorm" label
    page.locator("[data-testid='stRadio']").first.get_by_text("LayerNorm", exact=True).click()
    page.wait_for_function("() => location.search.includes('norm.kind=LayerNorm')", timeout=30_000)
    wait_idle(page)
    page.wait_for_function(
        "() => ((document.querySelectorAll('.js-plotly-plot')[0].layout.title || {}).text || '')"
        ".replace(/<\\/?b>/g, '').startsWith('LayerNorm')", timeout=30_000)
    after = _colours(page)
    assert after != before
    assert len(set(after[0])) == 1          # LayerNorm: one statistic for the whole of sample 0
    assert page.console_errors == []


def test_clicking_a_cell_selects_it(app, page):
    open_page(page, f"{app}{URL}", chart_count=5)
    # the cell drawn at grid row 5, column 9: sample 1 (rows 4-6), channel 2 (columns 8-10), position (1, 1)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    box = page.evaluate("""() => { const gd = document.querySelectorAll('.js-plotly-plot')[0];
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
        return {x: r.left + xa._offset + xa.l2p(9), y: r.top + ya._offset + ya.l2p(5)}; }""")
    page.mouse.click(box["x"], box["y"])
    page.wait_for_function("() => location.search.includes('norm.cell.channel=2')", timeout=30_000)
    wait_idle(page)
    page.get_by_text("uses the statistic of").first.wait_for(timeout=30_000)
    assert page.get_by_text("x[1, 2, 1, 1] =").first.is_visible()
    assert page.console_errors == []


def test_stepping_batches_and_batch_sizes_runs_in_the_browser(app, page):
    open_page(page, f"{app}{URL}", chart_count=6)
    stepper = _chart_index(page, "Before any batch")
    assert stepper >= 0
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    running = lambda: next(d for d in plot_data(page, stepper) if d["name"] == "running statistic")["x"]  # noqa: E731
    assert running() == [0]
    page.evaluate("""(i) => { const gd = document.querySelectorAll('.js-plotly-plot')[i];
                              const last = gd._transitionData._frames.slice(-1)[0].name;
                              return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}}); }""",
                  stepper)
    page.wait_for_timeout(500)
    assert running() == [0, 1, 2, 3, 4, 5]       # the default 5 training batches
    title = _title(page, stepper)
    assert title.startswith("Batch 5: running_mean = (1 − 0.1)·")
    sizes = _chart_index(page, "Batch size 2")
    page.evaluate("""(i) => Plotly.animate(document.querySelectorAll('.js-plotly-plot')[i], ['64'],
                                           {mode: 'immediate', frame: {duration: 0}})""", sizes)
    page.wait_for_timeout(500)
    title = _title(page, sizes)
    assert title.startswith("Batch size 64: BatchNorm averages 1024 values")
    assert requests == []                          # no request was needed to step
    assert page.console_errors == []


def test_a_shared_link_opens_the_same_view(app, page):
    open_page(page, f"{app}{URL}?norm.kind=GroupNorm&norm.c=8&norm.groups=4&seed=3", chart_count=5)
    title = _title(page, 0)
    assert title.startswith("GroupNorm (4 groups)<br>16 mean/variance pairs")
    # sample 0's first row crosses 8 channels in 4 groups of 2: four colours
    assert len(set(_colours(page)[0])) == 4
    assert page.get_by_role("spinbutton", name="Random seed").input_value() == "3"
    assert page.console_errors == []
