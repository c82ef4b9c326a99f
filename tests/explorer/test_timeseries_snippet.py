"""The page's snippet runs on its own, in a fresh interpreter, and prints the page's numbers."""
import ast
import subprocess
import sys

import pytest
import torch

from explorer.timeseries import TimeSeriesModel, scaling_of, synthetic, trace_pipeline
from explorer.timeseries_snippet import PRINTS, snippet
from explorer.timeseries_training import TrainConfig, train, window_at


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                         cwd="/")                              # not the repository: only torch is importable
    printed = {}
    for line in out.stdout.strip().splitlines():
        label, _, value = line.partition(": ")
        printed[label] = ast.literal_eval(value)
    return printed


def _expected(trace, scaling):
    """The modules' own chained forward on the page (trace.stages), bit for bit."""
    y = float(trace.output[0, 0])
    return {PRINTS[0]: trace.stages["diff"].flatten().tolist(), PRINTS[1]: trace.stages["weights"].flatten().tolist(),
            PRINTS[2]: y, PRINTS[3]: y * scaling.std + scaling.mean}


def test_the_trained_pages_snippet_prints_the_same_numbers():
    series = synthetic("trend + noise", 96, seed=3)
    trained = train(series, TrainConfig(window=16, hidden=4, steps=40, seed=3))
    step = 90
    trace = trace_pipeline(trained.model, window_at(trained, series, step))
    code = snippet(trace, trained.scaling, step)
    assert "permute(2, 0, 1)" in code and f"before step {step}" in code
    printed = _run(code)
    assert printed == _expected(trace, trained.scaling)
    # the traced (recomputed) numbers the stage views draw agree to float32 rounding
    assert printed[PRINTS[0]] == trace.conv.manual.flatten().tolist()
    assert torch.allclose(torch.tensor(printed[PRINTS[1]], dtype=torch.float64), trace.weights(0).double(), atol=1e-6)
    assert _expected(trace, trained.scaling)[PRINTS[3]] == pytest.approx(
        float(trained.scaling.unscale(trace.output[0, 0].double())))


def test_a_float64_model_gives_a_float64_snippet():
    model = TimeSeriesModel(3, seed=1, dtype=torch.float64)
    series = synthetic("sine", 40, seed=1)
    scaling = scaling_of(series)
    x = scaling.scale(series[:12]).view(1, 1, 12)                             # float64 window
    trace = trace_pipeline(model, x)
    code = snippet(trace, scaling, 12)
    assert "dtype=torch.float64" in code and ".double()" in code
    assert _run(code) == _expected(trace, scaling)


def test_a_large_lstm_is_written_as_exact_bytes_and_still_matches():
    model = TimeSeriesModel(32, seed=2)                                      # weight_hh_l0 has 4096 values
    series = synthetic("steps", 80, seed=2)
    scaling = scaling_of(series)
    x = scaling.scale(series[:40]).float().view(1, 1, 40)
    trace = trace_pipeline(model, x)
    code = snippet(trace, scaling, 40)
    assert "b64decode" in code
    assert _run(code) == _expected(trace, scaling)
