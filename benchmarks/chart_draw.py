"""plotly.js alone: how long each page's charts take to draw in Chromium, without Streamlit around them.

Each page is run once with AppTest at its defaults; every chart it sends (the figure JSON exactly as
the browser receives it) is drawn on a bare page holding nothing but plotly.js, REPEAT times: from
nothing (`Plotly.newPlot`, what Streamlit does for a chart whose figure changed: a new element) and
onto the chart already there (`Plotly.react` with a fresh copy of the figure, what a chart element
kept across reruns could do instead). A draw ends when its frames are added and the browser has
painted. Prints the median of each chart and their sum per page: the part of a change's browser
time that belongs to plotly.js itself, which no change to the page around the charts can remove.
It also changes, in AppTest, the control browser_latency.py changes on that page, and sums the
draws of the charts whose figure that change alters: what plotly.js needs of that change's time.

Usage: python benchmarks/chart_draw.py [page ...]   (default: every page in pages/ except home)
"""
import json
import sys
from pathlib import Path

import plotly
from playwright.sync_api import sync_playwright
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from harness import ARGS, CHROMIUM  # noqa: E402
from browser_latency import CONTROLS  # noqa: E402

REPEAT = 9
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

# One chart: REPEAT pairs of (newPlot from nothing, react onto it); medians of each, in ms.
DRAW = """async ([figure, repeat]) => {
    const graph = document.getElementById("graph");
    const config = {displaylogo: false};
    const painted = () => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
    const copy = () => JSON.parse(JSON.stringify(figure));
    const draw = async (how) => {
        const f = copy();
        const t0 = performance.now();
        await how(graph, f.data, f.layout, config);
        if (f.frames) await Plotly.addFrames(graph, f.frames);
        await painted();
        return performance.now() - t0;
    };
    const fresh = [], kept = [];
    for (let i = 0; i < repeat; i++) {
        Plotly.purge(graph);
        fresh.push(await draw(Plotly.newPlot));
        kept.push(await draw(Plotly.react));
    }
    const median = xs => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return [median(fresh), median(kept)];
}"""


def _specs(at):
    if at.exception:
        raise RuntimeError(at.exception)
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def figures(name):
    """The figure JSON of every chart the page sends at its defaults, and the positions of those
    that change when the page's benchmarked control changes once (None if AppTest cannot reach it)."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=300).run()
    before = _specs(at)
    kind, label = CONTROLS[name]
    control = next((w for w in getattr(at, kind) if w.label == label), None)
    if control is None:   # in a tab AppTest does not draw
        return before, None
    if kind == "slider":
        control.set_value(control.value + control.step if control.value < control.max else control.value - control.step)
    elif kind == "toggle":
        control.set_value(not control.value)
    else:
        options = list(control.options)
        control.set_value(options[(options.index(str(control.value)) + 1) % len(options)])
    after = _specs(at.run())
    return before, [i for i, (a, b) in enumerate(zip(after, before)) if a != b]


def main():
    names = sys.argv[1:] or sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "home")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_content("<div id='graph' style='width: 1200px'></div>")
        page.add_script_tag(content=PLOTLY_JS.read_text())
        for name in names:
            specs, changed = figures(name)
            times = [page.evaluate(DRAW, [figure, REPEAT]) for figure in specs]
            each = ", ".join(f"{fresh:.0f}" for fresh, _ in times)
            line = (f"{name}: {len(times)} charts, drawn from nothing {sum(t[0] for t in times):.0f} ms "
                    f"({each}), onto the chart already there {sum(t[1] for t in times):.0f} ms")
            if changed is not None:
                kind, label = CONTROLS[name]
                line += (f"; the {len(changed)} that the {kind} '{label}' changes: "
                         f"{sum(times[i][0] for i in changed):.0f} ms")
            print(line, flush=True)
        browser.close()


if __name__ == "__main__":
    main()
