"""Figure building against the trace it draws: what does turning numbers into a chart cost?

The Attention page at its defaults (one sentence, 4 heads): its nine figures, each built from the
same trace, against the time of the trace itself (layer, inputs and trace_attention). This is the
server time a learner's new setting spends on charts, before they are sent.
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time  # noqa: E402

from explorer import attention_config as ac  # noqa: E402
from explorer.figures import attention as figures  # noqa: E402

torch.set_num_threads(1)


def main():
    setting = (ac.LayerConfig(), ac.InputConfig(), ac.MaskConfig(), 0)
    trace_s = median_time(lambda: ac.run(*setting), repeat=10)
    t, inp = ac.run(*setting)
    q, k = inp.query_tokens, inp.key_tokens
    builds = {
        "weights heatmap": lambda: figures.weights_heatmap(t, 0, 0, q, k, selected=0, clickable=True),
        "lines view": lambda: figures.lines_view(t, 0, 0, q, k, selected=0),
        "renormalized row": lambda: figures.renormalized_row(t, 0, 0, 0, key_tokens=k, query_tokens=q),
        "scores vs weights": lambda: figures.scores_vs_weights(t, 0, 0, q, k),
        "head's matrices": lambda: figures.pipeline_matrices(t, 0, 0, q, k),
        "scale player": lambda: figures.entropy_vs_scale(t, 0, 0, q, k),
        "heads grid": lambda: figures.heads_grid(t, 0, q, k),
        "pipeline": lambda: figures.pipeline(t),
        "input vectors": lambda: figures.input_vectors(inp.embedded, inp.positions, q),
    }
    total = 0.0
    for name, build in builds.items():
        s = median_time(lambda: build().to_plotly_json(), repeat=10)   # as the page sends it
        total += s
        print(f"{name}: {s * 1e3:.1f} ms")
    print(f"all nine figures: {total * 1e3:.0f} ms, the trace: {trace_s * 1e3:.1f} ms "
          f"(figures / trace = {total / trace_s:.1f}x)")


if __name__ == "__main__":
    main()
