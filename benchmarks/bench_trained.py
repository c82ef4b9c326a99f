"""Time to first render of the trained-network pages, cold and warm, measured with AppTest.

    cold server    a fresh process: imports (scikit-learn / transformers), training the CNN or loading
                   MiniLM from the package files, then the first render (torch and streamlit already imported)
    new learner    a second session on the same server: trained network / model cached, first render
    new setting    cached network or model, cache_data cleared: what a new cell, head or sentence costs
    rerun          a rerun with nothing changed (median): what a learner waits for after a cached change

Each page runs in its own subprocess so that "cold" really is cold. Also printed: the CNN's training
time and MiniLM's load time alone, and each page's figure payload.

Usage: python benchmarks/bench_trained.py [digits_cnn] [minilm_attention]
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("digits_cnn", "minilm_attention")
REPEAT = 7

CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, ROOT)
import torch, streamlit as st
from streamlit.testing.v1 import AppTest
torch.set_num_threads(1)   # as app.py does for the server

def render():
    at = AppTest.from_file(ROOT + "/pages/" + PAGE + ".py", default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    if at.exception:
        raise SystemExit(str(at.exception))
    return at, time.perf_counter() - t0

out = {}
at, out["cold"] = render()
out["payload_kb"] = sum(len(el.proto.spec) for el in at.get("plotly_chart")) / 1e3
_, out["new_learner"] = render()
times = []
for _ in range(3):
    st.cache_data.clear()
    times.append(render()[1])
out["new_setting"] = statistics.median(times)
times = []
for _ in range(REPEAT):
    t0 = time.perf_counter()
    at.run()
    times.append(time.perf_counter() - t0)
out["rerun"] = statistics.median(times)
print(json.dumps(out))
"""

PARTS = r"""
import json, sys, time
sys.path.insert(0, ROOT)
import torch
torch.set_num_threads(1)
out = {}
t0 = time.perf_counter()
from explorer import digits
digits.load_data(8)
out["digits_data"] = time.perf_counter() - t0
t0 = time.perf_counter()
digits.train(digits.TrainConfig())
out["digits_train"] = time.perf_counter() - t0
t0 = time.perf_counter()
from explorer import minilm
tokenizer, model = minilm.load()
out["minilm_load"] = time.perf_counter() - t0
t0 = time.perf_counter()
enc = minilm.encode(tokenizer, model, "The cat sat on the mat because it was tired.")
minilm.head_errors(model, enc)
out["minilm_sentence"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def child(code, **names):
    prelude = "".join(f"{k} = {v!r}\n" for k, v in names.items())
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=1800)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    pages = sys.argv[1:] or PAGES
    parts = child(PARTS, ROOT=str(ROOT))
    print(f"digits: load the 1797 images (with the scikit-learn import) {parts['digits_data'] * 1e3:.0f} ms, "
          f"train 12 epochs {parts['digits_train'] * 1e3:.0f} ms")
    print(f"MiniLM: load from the package (with the transformers import) {parts['minilm_load'] * 1e3:.0f} ms, "
          f"one sentence through the model plus all 72 heads recomputed {parts['minilm_sentence'] * 1e3:.0f} ms")
    for page in pages:
        r = child(CHILD, ROOT=str(ROOT), PAGE=page, REPEAT=REPEAT)
        print(f"{page}: first render cold server {r['cold'] * 1e3:.0f} ms, "
              f"new learner {r['new_learner'] * 1e3:.0f} ms, "
              f"new setting {r['new_setting'] * 1e3:.0f} ms, rerun {r['rerun'] * 1e3:.0f} ms "
              f"(cold / rerun = {r['cold'] / r['rerun']:.0f}x; goal <= 150 ms rerun); "
              f"figures {r['payload_kb']:.0f} KB")
