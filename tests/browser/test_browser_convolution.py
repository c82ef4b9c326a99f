"""Home and Convolution pages in a real browser: they load, controls redraw, stepping is client-side."""
from harness import open_page, plot_data, wait_idle


def test_home_page_loads_with_cards(app, page):
    open_page(page, app, chart_count=1)
    assert page.get_by_role("heading", name="Layer Lab").is_visible()
    assert page.get_by_text("Open Convolution").is_visible()
    assert page.console_errors == []


def _kernel_shape(pg):
    kernel = next(d for d in plot_data(pg) if d["name"] == "kernel")
    return len(kernel["z"]), len(kernel["z"][0])


def test_kernel_size_slider_redraws_the_chart(app, page):
    open_page(page, f"{app}/convolution", chart_count=1)
    assert _kernel_shape(page) == (3, 3)
    slider = page.get_by_role("slider", name="kernel_size")
    slider.focus()
    slider.press("ArrowRight")
    wait_idle(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const k = d.find(t => t.name === 'kernel'); return k && k.z.length === 4; }", timeout=30_000)
    assert _kernel_shape(page) == (4, 4)
    assert "conv.k=4" in page.url  # the control is also in the URL
    assert page.console_errors == []


def test_stepping_moves_the_window_without_the_server(app, page):
    open_page(page, f"{app}/convolution", chart_count=1)
    outline = lambda: next(d for d in plot_data(page) if d["name"] == "window")["x"]  # noqa: E731
    before = outline()
    requests = []
    page.on("websocket", lambda ws: requests.append(ws))
    frames_sent = []
    page.on("request", lambda r: frames_sent.append(r.url))
    # jump to the last slider step through the Plotly API the slider itself uses
    page.evaluate("""() => { const gd = document.querySelectorAll('.js-plotly-plot')[0];
                            const last = gd._transitionData._frames.slice(-1)[0].name;
                            return Plotly.animate(gd, [last], {mode: 'immediate', frame: {duration: 0}}); }""")
    page.wait_for_timeout(500)
    after = outline()
    assert after != before
    # the last window of a 5x5 output sits at input columns 4..6 (cell edges at 3.5 .. 6.5)
    assert max(v for v in after if v is not None) == 6.5
    assert frames_sent == []  # no HTTP request was needed to step
    assert page.console_errors == []


def test_play_button_animates(app, page):
    open_page(page, f"{app}/convolution", chart_count=1)
    outline = lambda: next(d for d in plot_data(page) if d["name"] == "window")["x"]  # noqa: E731
    before = outline()
    page.locator(".js-plotly-plot").first.locator(".updatemenu-button").first.click()
    page.wait_for_timeout(1600)
    assert outline() != before
    assert page.console_errors == []


def test_a_512_pixel_upload_steps_one_block_and_a_click_moves_it(app, page, tmp_path):
    from PIL import Image, ImageDraw
    img = Image.new("L", (512, 512), 0)
    ImageDraw.Draw(img).ellipse((100, 100, 400, 400), outline=255, width=30)
    path = tmp_path / "ring.png"
    img.save(path)
    open_page(page, f"{app}/convolution?conv.src=image&conv.imgsize=512", chart_count=1)
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("The output is 510 × 510").wait_for(timeout=120_000)
    wait_idle(page, timeout=120_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=60_000)
    frame_z = page.evaluate("() => document.querySelectorAll('.js-plotly-plot')[0]._transitionData._frames[0].data[0].z")
    assert len(frame_z) == 12 and len(frame_z[0]) == 12          # one 12x12 block, not 510x510
    drag = page.locator(".js-plotly-plot").nth(1).locator(".nsewdrag").nth(1)
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function("() => location.search.includes('conv.zoom_row=')", timeout=120_000)
    wait_idle(page, timeout=120_000)
    row = int(page.url.split("conv.zoom_row=")[1].split("&")[0])
    assert 200 <= row <= 300                                      # the middle of the output, not its corner
    assert page.console_errors == []


def test_the_downloaded_snippet_runs_and_prints_the_modules_numbers(app, page, tmp_path):
    import json
    import subprocess
    import sys

    import torch
    from torch import nn

    from explorer.examples.conv import input_preset, kernel_preset
    open_page(page, f"{app}/convolution?conv.bval=0.5", chart_count=1)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download as .py").click()
    path = tmp_path / "convolution.py"
    info.value.save_as(path)
    code = path.read_text() + "\nimport json\nprint(json.dumps(y.detach().double().flatten().tolist()))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    # the page's default: the Sobel-x kernel on the digit-0 preset, here with bias 0.5
    conv = nn.Conv2d(1, 1, 3)
    with torch.no_grad():
        conv.weight.copy_(kernel_preset("edge (Sobel x)", 3, 2).float().view(1, 1, 3, 3))
        conv.bias.fill_(0.5)
        expected = conv(input_preset("digit 0", 1).float().unsqueeze(0)).double().flatten().tolist()
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected
