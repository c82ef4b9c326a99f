"""Typed numbers -> tensors, with messages that point at the offending cell."""
import re

import torch

from ..errors import ExplorerError

MAX_TYPED_CELLS = 4096


def parse_grid(text, *, name="values"):
    """Rows on separate lines (or split by ';'), numbers split by commas or spaces -> 2D tensor.

    >>> parse_grid("1, 2\\n3 4").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    rows = [r for r in re.split(r"[;\n]", (text or "").strip()) if r.strip()]
    if not rows:
        raise ExplorerError(f"The {name} are empty: type numbers separated by commas, one row per line.")
    grid = []
    for i, row in enumerate(rows, 1):
        cells = [c for c in re.split(r"[,\s]+", row.strip().strip("[]")) if c]
        values = []
        for j, cell in enumerate(cells, 1):
            try:
                v = float(cell)
            except ValueError:
                raise ExplorerError(f"Row {i}, item {j} of the {name} is {cell[:20]!r}, not a number.") from None
            if v != v or v in (float("inf"), float("-inf")):
                raise ExplorerError(f"Row {i}, item {j} of the {name} is {cell[:20]!r}; use finite numbers.")
            values.append(v)
        grid.append(values)
    widths = {len(r) for r in grid}
    if len(widths) != 1:
        raise ExplorerError(f"The rows of the {name} have different lengths ({sorted(widths)}); "
                            "every row needs the same number of items.")
    if len(grid) * len(grid[0]) > MAX_TYPED_CELLS:
        raise ExplorerError(f"That is {len(grid) * len(grid[0])} {name}; type at most {MAX_TYPED_CELLS}.")
    return torch.tensor(grid, dtype=torch.float64)


def parse_channels(text, *, name="input"):
    """Blocks separated by a blank line, one per channel -> (C, rows, cols) tensor."""
    blocks = [b for b in re.split(r"\n\s*\n", (text or "").strip()) if b.strip()]
    if not blocks:
        raise ExplorerError(f"The {name} is empty: type numbers separated by commas, one row per line.")
    grids = [parse_grid(b, name=f"{name} values (channel {c})") for c, b in enumerate(blocks)]
    shapes = {tuple(g.shape) for g in grids}
    if len(shapes) != 1:
        raise ExplorerError(f"Every channel of the {name} needs the same size; got {sorted(shapes)}.")
    return torch.stack(grids)                                                # (C, rows, cols)


def format_grid(t, digits=4):
    """The inverse of parse_grid for a 1D or 2D tensor: text a learner can edit."""
    t = t.detach().double()
    rows = t.view(1, -1) if t.dim() == 1 else t
    return "\n".join(", ".join(f"{v:.{digits}g}" for v in r.tolist()) for r in rows)
