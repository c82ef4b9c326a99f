"""Two Layer Lab replicas behind a local nginx with sticky sessions: uploads and reruns work."""
import http.cookiejar
import io
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import streamlit
from PIL import Image

from harness import ROOT, _free_port, open_page, plot_data, start_streamlit, wait_idle  # the browser harness

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _wait_health(url, proc, deadline=90):
    end = time.time() + deadline
    while time.time() < end:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two replicas sharing one cookie secret, and nginx routing by cookie in front of them."""
    tmp = tmp_path_factory.mktemp("cluster")
    env = dict(os.environ, STREAMLIT_SERVER_COOKIE_SECRET=secrets.token_hex(32))
    ports = [_free_port(), _free_port()]
    procs = [start_streamlit("app.py", port, output=open(tmp / f"replica-{port}.log", "w"), env=env)[0]
             for port in ports]
    lb_port = _free_port()
    conf = (ROOT / "deploy" / "nginx.conf.template").read_text()
    conf = (conf.replace("@LISTEN@", f"127.0.0.1:{lb_port}").replace("@PREFIX@", str(tmp))
                .replace("@UPSTREAMS@", " ".join(f"server 127.0.0.1:{p};" for p in ports)))
    (tmp / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen([NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=open(tmp / "nginx.stderr", "w"))
    lb = f"http://127.0.0.1:{lb_port}"
    _wait_health(lb, nginx)
    yield dict(url=lb, ports=ports, log=tmp / "access.log")
    nginx.terminate()
    for p in procs:
        p.terminate()
    for p in procs + [nginx]:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def _routes(log, cookie):
    """The upstream ports nginx used for requests carrying this affinity cookie."""
    time.sleep(0.3)  # nginx writes its access log line after the response
    ports = set()
    for line in Path(log).read_text().splitlines():
        uri, upstream, value = (line.split(" ") + ["", ""])[:3]
        if value == cookie and upstream != "-":
            ports.add(int(upstream.rsplit(":", 1)[1]))
    return ports


def test_one_browser_sticks_to_one_replica_and_browsers_spread(cluster):
    seen = set()
    for _ in range(20):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{cluster['url']}/_stcore/health").read()
        cookie = next(c.value for c in jar if c.name == "layerlab_replica")
        for _ in range(5):
            opener.open(f"{cluster['url']}/_stcore/health").read()
        routes = _routes(cluster["log"], cookie)
        assert len(routes) == 1, routes       # every request of this browser went to one replica
        seen |= routes
    assert seen == set(cluster["ports"])       # 20 new browsers used both (all on one: p = 2^-19)


def _png(w, h):
    buf = io.BytesIO()
    img = Image.new("L", (w, h), 0)
    img.paste(255, (w // 2, 0, w, h))          # a vertical edge
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_and_rerun_through_the_balancer(cluster, page, tmp_path):
    open_page(page, f"{cluster['url']}/convolution?conv.src=image&conv.imgsize=12", chart_count=1)
    image = tmp_path / "edge.png"
    image.write_bytes(_png(40, 40))
    page.locator("input[type=file]").set_input_files(str(image))
    wait_idle(page)
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.js-plotly-plot')[0]._fullData;"
        " const x = d.find(t => t.name === 'input'); return x && x.z.length === 12; }", timeout=60_000)
    z = next(d for d in plot_data(page) if d["name"] == "input")["z"]
    assert z[0][0] == 0.0 and z[0][-1] == 1.0   # the uploaded edge: dark left, bright right
    page.get_by_role("slider", name="stride").focus()
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('conv.stride=2')", timeout=30_000)
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "layerlab_replica")
    assert len(_routes(cluster["log"], cookie)) == 1
    assert not page.get_by_text("Traceback").count()
    assert page.console_errors == []


def test_a_large_file_reaches_a_slow_client_whole(cluster):
    # The browser's largest script, read as a slow connection reads it: nginx must not lose the part
    # it could not hand over at once.
    static = Path(streamlit.__file__).parent / "static" / "static" / "js"
    largest = max(static.iterdir(), key=lambda f: f.stat().st_size)
    with urllib.request.urlopen(f"{cluster['url']}/static/js/{largest.name}", timeout=60) as resp:
        first = resp.read(64 * 1024)
        time.sleep(1.5)
        rest = resp.read()
    assert len(first) + len(rest) == largest.stat().st_size
