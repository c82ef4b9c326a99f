"""Training demos run in a worker process, so the server keeps answering every other learner.

One Python process runs one thread at a time. A training demo is thousands of tiny torch ops, each
too short for torch to let go of that lock, so training inside the server held it for seconds and
every other learner's rerun queued behind it (the classroom load test: time-series reruns at p95
38 s, every page slower). In its own process it runs on the machine's other core, while the
thread that waits for it holds no lock at all.

One worker: with two cores, one serves pages and one trains; trainings of different
configurations take turns there, and each is cached by its page once done. It is a plain
`python -m explorer.worker` talking pickles over its stdin and stdout: multiprocessing would
re-import the parent's __main__ in the child, which inside Streamlit is whatever page is running.
"""
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

from .errors import ExplorerError

_ROOT = Path(__file__).resolve().parents[1]
_lock = threading.Lock()     # one job at a time; waiting for it blocks without holding the GIL
_spawn_lock = threading.Lock()   # apart from _lock, so that start() never waits for a running job
_state = {"process": None, "unread": False}   # unread: a job's replies still to come


def run(fn, *args, progress=None, **kwargs):
    """fn(*args, **kwargs) in the worker process; its result (or its exception) comes back here.

    `fn` and its arguments must be importable and picklable: module-level functions of
    `explorer`, tensors, dataclasses. With `progress`, fn is also passed progress=report, and
    every report(*a) made in the worker becomes progress(*a) here, on the calling thread (so a page
    can draw it). If progress raises (a page's run is stopped by a newer one), that goes on up at
    once; the job's remaining replies are read and dropped before the next job starts.
    """
    with _lock:
        process = _process()
        try:
            if _state["unread"]:
                _reply(process, None, drop=True)
            pickle.dump((fn, args, kwargs, progress is not None), process.stdin)
            process.stdin.flush()
            _state["unread"] = True
            return _reply(process, progress)
        except (EOFError, OSError, pickle.UnpicklingError):
            process.kill()
            with _spawn_lock:
                if _state["process"] is process:
                    _state["process"] = None
            raise ExplorerError("The training process stopped unexpectedly (out of memory?). "
                                "Change a setting or reload the page to train again.") from None


def _reply(process, progress, drop=False):
    """Read the running job's replies up to its result (or its error, raised here unless drop)."""
    while True:
        kind, value = pickle.load(process.stdout)
        if kind == "progress":
            if progress is not None:
                progress(*value)
            continue
        _state["unread"] = False
        if kind == "error" and not drop:
            raise value
        return value


def start():
    """Start the worker now, so the first training does not wait for it to import torch. Cheap when
    it runs already, and never waits for a training in progress: every page's run calls it."""
    _process()


def _process():
    with _spawn_lock:
        process = _state["process"]
        if process is None or process.poll() is not None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]))
            process = subprocess.Popen([sys.executable, "-m", "explorer.worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, cwd=_ROOT, env=env)
            _state["process"], _state["unread"] = process, False
        return process


# -- in the worker process -----------------------------------------------------------------------
def _serve():
    import torch
    torch.set_num_threads(1)   # tiny ops: a second thread costs more than it saves, and results stay bit-stable
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())   # a stray print must not corrupt the replies

    def send(kind, value):
        replies.write(pickle.dumps((kind, value)))   # whole, or nothing if it does not pickle
        replies.flush()

    while True:
        try:
            fn, args, kwargs, wants_progress = pickle.load(requests)
        except EOFError:          # the server has gone
            return
        if wants_progress:
            kwargs = dict(kwargs, progress=lambda *a: send("progress", a))
        try:
            result = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001  any failure goes back to the page that asked
            try:
                send("error", e)
            except Exception:  # noqa: BLE001  an exception that does not pickle goes back as its text
                send("error", ExplorerError(f"{type(e).__name__}: {e}"))
        else:
            send("result", result)


if __name__ == "__main__":
    _serve()
