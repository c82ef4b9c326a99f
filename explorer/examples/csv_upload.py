"""Uploaded CSV files -> numeric columns, refusing anything that is not a sane, small table.

The byte size is checked before parsing and the row count is capped while parsing, so a file of
ten million rows costs one bounded read and a message.
"""
import io

import numpy as np
import pandas as pd
import torch

from ..errors import ExplorerError

MAX_ROWS = 5000
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def csv_columns(data):
    """The numeric columns of an uploaded CSV: {name: float64 tensor}. Raises with a clear message.

    >>> list(csv_columns(b"t,y\\n0,1.5\\n1,2.5\\n"))
    ['t', 'y']
    """
    if not data:
        raise ExplorerError("The uploaded file is empty. Upload a CSV with a header row and numeric columns.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ExplorerError(f"The file is {len(data) / 1e6:.1f} MB; upload a CSV under "
                            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
    if b"\x00" in data[:4096]:
        raise ExplorerError("That file is not text; upload a CSV (comma-separated values).")
    try:
        frame = pd.read_csv(io.BytesIO(data), nrows=MAX_ROWS + 1)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise ExplorerError(f"That CSV could not be read: {str(e).splitlines()[0][:120]}") from None
    if len(frame) > MAX_ROWS:
        raise ExplorerError(f"The CSV has more than {MAX_ROWS} rows; upload at most {MAX_ROWS} values.")
    numeric = {}
    for name in frame.columns:
        col = pd.to_numeric(frame[name], errors="coerce")
        if col.notna().all() and len(col) and np.isfinite(col.to_numpy()).all():
            numeric[str(name)[:40]] = torch.tensor(col.to_numpy(dtype=np.float64))
    if not numeric:
        raise ExplorerError("No column of that CSV holds only numbers; every cell of the chosen column must "
                            "be a number.")
    return numeric
