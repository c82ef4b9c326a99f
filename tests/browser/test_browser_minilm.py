"""The Transformer heads page in a real browser: it loads by its URL, clicking a thumbnail selects that
head, a typed sentence redraws every view, queries step without the server, links reproduce it."""
from harness import open_page, plot_data, wait_idle

CHARTS = 4  # model view, heatmap, lines, query math


def _chart_with(pg, name):
    """Index of the first chart that has a trace called `name`."""
    return pg.evaluate("""(name) => Array.from(document.querySelectorAll('.js-plotly-plot'))
                                       .findIndex(gd => gd._fullData.some(d => d.name === name))""", name)


def test_the_page_loads_with_every_head(app, page):
    open_page(page, f"{app}/minilm_attention", chart_count=CHARTS, timeout=180_000)
    assert page.get_by_role("heading", name="Attention in a pretrained transformer").is_visible()
    (maps,) = [d for d in plot_data(page, 0) if d["type"] == "heatmap"]
    # 6 layers x 12 heads of 13 x 13 (the default sentence's word pieces), one empty cell apart
    assert len(maps["z"]) == 6 * 14 - 1 and len(maps["z"][0]) == 12 * 14 - 1
    assert page.get_by_text("match the attentions the model reports").is_visible()
    assert page.console_errors == []


def test_clicking_a_thumbnail_selects_its_head(app, page):
    open_page(page, f"{app}/minilm_attention", chart_count=CHARTS, timeout=180_000)
    box = page.evaluate("""() => { const gd = document.querySelectorAll('.js-plotly-plot')[0];
        gd.scrollIntoView();
        const t = gd._fullData.find(d => d.name === 'select a head');
        const i = t.customdata.findIndex(c => c[0] === 3 && c[1] === 7);
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const r = gd.getBoundingClientRect();
        return {x: r.left + xa._offset + xa.l2p(t.x[i]) + 5, y: r.top + ya._offset + ya.l2p(t.y[i]) - 5}; }""")
    page.mouse.click(box["x"], box["y"])
    page.wait_for_function(
        "() => location.search.includes('minilm.layer=3') && location.search.includes('minilm.head=7')", timeout=30_000)
    wait_idle(page)
    page.get_by_role("heading", name="Layer 3, head 7").wait_for(timeout=30_000)
    selected = next(d for d in plot_data(page, 0) if d["name"] == "selected head")
    assert selected["x"]  # the frame moved onto the clicked thumbnail
    assert page.console_errors == []


def test_a_typed_sentence_redraws_the_views(app, page):
    open_page(page, f"{app}/minilm_attention", chart_count=CHARTS, timeout=180_000)
    box = page.get_by_role("textbox", name="Sentence")
    box.fill("Paris is the capital of France.")
    box.press("Enter")
    page.wait_for_function("() => location.search.includes('minilm.text=')", timeout=30_000)
    wait_idle(page)
    # 9 word pieces: 6 layers of 9 rows, one empty row apart
    page.wait_for_function("""() => document.querySelectorAll('.js-plotly-plot')[0]._fullData[0].z.length === 6 * 10 - 1""",
                           timeout=60_000)
    assert page.get_by_text("9 word pieces").is_visible()
    assert page.console_errors == []


def test_queries_step_in_the_browser(app, page):
    open_page(page, f"{app}/minilm_attention", chart_count=CHARTS, timeout=180_000)
    idx = _chart_with(page, "weight")
    weights = lambda: next(d for d in plot_data(page, idx) if d["name"] == "weight")["x"]  # noqa: E731
    before = weights()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate("""(i) => { const gd = document.querySelectorAll('.js-plotly-plot')[i];
                             return Plotly.animate(gd, ['0'], {mode: 'immediate', frame: {duration: 0}}); }""", idx)
    page.wait_for_timeout(500)
    after = weights()
    assert after != before and abs(sum(after) - 1) < 1e-3      # query [CLS]'s weights, still a distribution
    assert requests == []
    assert page.console_errors == []


def test_a_shared_link_opens_the_same_head(app, page):
    open_page(page, f"{app}/minilm_attention?minilm.layer=4&minilm.head=10&minilm.query=2%3A%20cat",
              chart_count=CHARTS, timeout=180_000)
    assert page.get_by_role("heading", name="Layer 4, head 10").is_visible()
    assert page.get_by_role("heading", name="The math of head 10 for the query “cat”").is_visible()
    assert page.console_errors == []
