"""The Attention page in a real browser: it loads by its URL, a control redraws the weights and lands in the
link, clicking a cell masks it, the query stepper runs client-side, and a shared link opens the same view."""
from harness import open_page, plot_data, wait_idle

HEATMAP = 0  # the first chart of the page
# the lines view, found by its trace of query dots (charts mount one by one, so not by position)
LINES = ("Array.from(document.querySelectorAll('.js-plotly-plot'))"
         ".find(g => (g._fullData || []).some(t => t.name === 'queries'))")


def _query_sizes(pg):
    """Marker sizes of the lines view's query dots: the highlighted query's is the larger."""
    pg.wait_for_function(f"() => !!{LINES}", timeout=30_000)
    return pg.evaluate(f"() => {LINES}._fullData.find(t => t.name === 'queries').marker.size")


def _weights(pg):
    return next(d for d in plot_data(pg, HEATMAP) if d["type"] == "heatmap")["z"]


def test_page_loads_by_its_url(app, page):
    open_page(page, f"{app}/attention", chart_count=2)
    assert page.get_by_role("heading", name="Attention", exact=True).is_visible()
    z = _weights(page)
    assert len(z) == 11 and all(abs(sum(row) - 1) < 1e-5 for row in z)  # 11 tokens, rows sum to 1
    assert page.console_errors == []


def test_causal_toggle_redraws_the_weights_and_lands_in_the_link(app, page):
    open_page(page, f"{app}/attention", chart_count=2)
    assert _weights(page)[0][1] > 0
    page.get_by_text("causal mask", exact=True).click()
    wait_idle(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const h = d.find(t => t.type === 'heatmap'); return h && h.z[0][1] === 0; }", timeout=30_000)
    z = _weights(page)
    assert all(z[i][j] == 0 for i in range(11) for j in range(i + 1, 11)) and abs(z[0][0] - 1) < 1e-6
    assert "attention.causal=true" in page.url
    assert page.console_errors == []


def test_clicking_a_cell_masks_it(app, page):
    open_page(page, f"{app}/attention", chart_count=2)
    before = _weights(page)
    assert before[2][5] > 0
    page.locator(".js-plotly-plot").nth(HEATMAP).scroll_into_view_if_needed()
    x, y = page.evaluate("""(ij) => { const gd = document.querySelectorAll('.js-plotly-plot')[0];
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
        return [r.left + xa._offset + xa.d2p(ij[1]), r.top + ya._offset + ya.d2p(ij[0])]; }""", [2, 5])
    page.mouse.click(x, y)
    page.wait_for_function("() => location.search.includes('attention.cells=2-5')", timeout=30_000)
    wait_idle(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const h = d.find(t => t.type === 'heatmap'); return h && h.z[2][5] === 0; }", timeout=30_000)
    after = _weights(page)
    assert abs(sum(after[2]) - 1) < 1e-5 and after[2][0] > before[2][0]  # the row renormalized
    assert after[3] == before[3]  # other rows untouched
    assert page.get_by_role("textbox", name="Masked cells (query-key)").input_value() == "2-5"
    assert page.console_errors == []


def test_query_stepper_runs_in_the_browser(app, page):
    open_page(page, f"{app}/attention", chart_count=2)
    assert _query_sizes(page)[0] == 18
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate(f"""() => {{ const gd = {LINES};
                            const last = gd._transitionData._frames.slice(-1)[0].name;
                            return Plotly.animate(gd, [last], {{mode: 'immediate', frame: {{duration: 0}}}}); }}""")
    page.wait_for_timeout(500)
    sizes = _query_sizes(page)
    assert sizes[-1] == 18 and sizes[0] == 10  # the last query "." is highlighted now
    assert requests == []
    assert page.console_errors == []


def test_a_shared_link_opens_the_same_view(app, page):
    open_page(page, f"{app}/attention?attention.heads=2&attention.pads=2&attention.q=3%3A+on&seed=4",
              chart_count=2)
    z = _weights(page)
    assert len(z) == 13 and all(row[11] == 0 and row[12] == 0 for row in z)  # two pads, masked
    assert page.get_by_role("heading", name="The math of query 3 “on”, head 0").is_visible()
    assert page.get_by_role("spinbutton", name="Random seed").input_value() == "4"
    assert not page.get_by_text("This link had settings the page cannot use").is_visible()
    assert page.console_errors == []


def test_presentation_mode_steps_the_queries_with_the_arrow_keys(app, page):
    open_page(page, f"{app}/attention?present=true", chart_count=2)
    assert not page.get_by_role("textbox", name="Sentence").is_visible()  # controls folded away
    sizes = lambda: _query_sizes(page)  # noqa: E731
    assert sizes()[:2] == [18, 10]
    page.locator("h1").first.click()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(400)
    assert sizes()[:2] == [10, 18]  # the lines view moved to the second query, "cat"
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(400)
    assert sizes()[:2] == [18, 10]
    assert page.console_errors == []
