"""The training worker process gives back exactly what the same call gives in this process."""
import os
import threading
import time

import pytest
import torch

from explorer import worker
from explorer.errors import ExplorerError
from explorer.timeseries import synthetic
from explorer.timeseries_training import TrainConfig, train

SERIES = synthetic("sine", 64)
CFG = TrainConfig(window=8, steps=30)


def test_training_in_the_worker_matches_training_here():
    there = worker.run(train, SERIES, CFG)
    here = train(SERIES, CFG)
    assert there.losses == here.losses
    for a, b in zip(there.model.state_dict().values(), here.model.state_dict().values()):
        assert torch.equal(a, b)


def test_progress_reports_arrive_in_order_and_end_at_the_last_step():
    seen = []
    result = worker.run(train, SERIES, CFG, progress=lambda *report: seen.append(report))
    assert [s for s, _, _ in seen] == list(range(10, CFG.steps + 1, 10))   # train reports every 10 steps
    assert seen[-1] == (CFG.steps, CFG.steps, result.losses[-1])


def test_an_error_in_the_worker_is_raised_here_with_its_message():
    with pytest.raises(ExplorerError, match="window must be a whole number"):
        worker.run(train, SERIES, TrainConfig(window=1000))


def test_a_stopped_wait_does_not_leak_its_result_into_the_next_job():
    class Stopped(Exception):
        pass

    def stop(*_):
        raise Stopped

    with pytest.raises(Stopped):
        worker.run(train, SERIES, CFG, progress=stop)
    assert worker.run(len, "four") == 4


def test_a_worker_that_dies_gives_a_clear_message_and_the_next_job_a_new_worker():
    with pytest.raises(ExplorerError, match="stopped unexpectedly"):
        worker.run(os._exit, 3)
    assert worker.run(sum, [1, 2, 3]) == 6


def test_printing_in_the_worker_does_not_corrupt_its_replies():
    assert worker.run(print, "a stray line") is None
    assert worker.run(max, 2, 7) == 7


def test_start_does_not_wait_for_a_running_job():
    # every page's run calls start(): it must not queue behind someone's training
    job = threading.Thread(target=worker.run, args=(time.sleep, 3))
    job.start()
    time.sleep(0.5)   # the job is in the worker now
    worker.start()
    assert job.is_alive()
    job.join()
