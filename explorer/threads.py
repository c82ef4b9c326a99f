"""Small models train and trace faster on one torch thread than on two.

Every op of the pages' training demos is tiny: waking a second thread costs more than the op (an
epoch ten times slower when the cores are busy, measured), and the same seed then gives the same
network whatever the server's thread count (summation order changes the last bits, and training
amplifies them).
"""
import threading
from contextlib import contextmanager

import torch

_LOCK = threading.Lock()
_state = {"count": 0, "threads": None}


@contextmanager
def one_thread():
    """Run torch on one thread inside the block, then give back the thread count found. Counted,
    so that overlapping blocks (several sessions training at once) restore it only once."""
    with _LOCK:
        if _state["count"] == 0:
            _state["threads"] = torch.get_num_threads()
            torch.set_num_threads(1)
        _state["count"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["count"] -= 1
            if _state["count"] == 0:
                torch.set_num_threads(_state["threads"])
