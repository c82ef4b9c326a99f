"""The next-value training demo: it learns, it is deterministic, chunks equal one run, caches stay intact."""
import math

import pytest
import torch

from explorer import ExplorerError, trace_recurrent
from explorer.recurrent_training import (MAX_TRAINING_STEPS, NextValueModel, continue_training, sine_batch,
                                         start_training, train_next_value)


@pytest.fixture(scope="module")
def lstm_run():
    return train_next_value("LSTM", 8, steps=300, seed=0)


def test_lstm_loss_falls_below_a_hundredth(lstm_run):
    losses = lstm_run.losses
    assert len(losses) == 300
    # a sine wave has variance 1/2, so predicting 0 costs about 0.5; the untrained model is there
    assert losses[0] > 0.2
    assert sum(losses[-20:]) / 20 < 0.01
    # and it predicts the held-out wave far better than before
    before = float(torch.mean((lstm_run.predictions_before - lstm_run.targets) ** 2))
    after = float(torch.mean((lstm_run.predictions_after - lstm_run.targets) ** 2))
    assert after < 0.05 * before and after < 0.02


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_rnn_and_gru_learn_too(kind):
    r = train_next_value(kind, 8, steps=300, seed=0)
    assert sum(r.losses[-20:]) / 20 < 0.05 < r.losses[0]


def test_training_is_deterministic_and_leaves_global_rng_alone():
    rng = torch.random.get_rng_state()
    a = train_next_value("GRU", 4, steps=15, seed=3)
    b = train_next_value("GRU", 4, steps=15, seed=3)
    assert a.losses == b.losses
    assert all(torch.equal(a.final_state[k], b.final_state[k]) for k in a.final_state)
    assert a.losses != train_next_value("GRU", 4, steps=15, seed=4).losses
    assert torch.equal(rng, torch.random.get_rng_state())


def test_chunks_give_exactly_the_numbers_of_one_run():
    whole = train_next_value("LSTM", 6, steps=30, seed=1)
    part = continue_training(continue_training(start_training("LSTM", 6, seed=1), 10), 20)
    assert part.losses == whole.losses
    assert all(torch.equal(part.final_state[k], whole.final_state[k]) for k in whole.final_state)
    assert torch.equal(part.predictions_after, whole.predictions_after)


def test_continuing_never_changes_the_run_it_starts_from():
    start = continue_training(start_training("RNN", 4, seed=2), 5)
    weights = {k: v.clone() for k, v in start.final_state.items()}
    adam = {k: {n: v.clone() for n, v in s.items()} for k, s in start.optimizer_state["state"].items()}
    gen = start.generator_state.clone()
    later = continue_training(start, 5)
    again = continue_training(start, 5)
    assert later.losses == again.losses and start.steps == 5
    assert all(torch.equal(weights[k], start.final_state[k]) for k in weights)
    assert all(torch.equal(adam[k][n], start.optimizer_state["state"][k][n]) for k in adam for n in adam[k])
    assert torch.equal(gen, start.generator_state)


def test_callback_sees_every_step_of_the_whole_run():
    seen = []
    first = continue_training(start_training("GRU", 3), 4, callback=lambda s, loss: seen.append((s, loss)))
    continue_training(first, 3, callback=lambda s, loss: seen.append((s, loss)))
    assert [s for s, _ in seen] == [1, 2, 3, 4, 5, 6, 7]
    assert [loss for _, loss in seen[:4]] == list(first.losses)


def test_before_and_after_models_are_the_traced_layers():
    r = train_next_value("LSTM", 5, steps=20, seed=0)
    before, after = r.recurrent(trained=False), r.recurrent(trained=True)
    assert not torch.equal(before.weight_hh_l0, after.weight_hh_l0)
    assert all(torch.equal(before.state_dict()[k], r.initial_state["rnn." + k]) for k in before.state_dict())
    t = trace_recurrent(after, r.inputs)
    assert t.max_abs_error < 1e-5
    with torch.no_grad():
        assert torch.allclose(r.model(True).head(t.output), r.predictions_after, atol=1e-6)
        assert torch.allclose(NextValueModel("LSTM", 5, 0)(r.inputs.unsqueeze(1))[:, 0], r.predictions_before)


def test_sine_batch_targets_are_the_next_values():
    x, y = sine_batch(3, 12, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (12, 3, 1)
    assert torch.equal(x[1:], y[:-1])
    assert float(x.abs().max()) <= 1.0
    # each wave is a sine of period 8..24: its values repeat with that period, so it has both signs
    assert bool((x.amax(0) > 0.3).all() and (x.amin(0) < -0.3).all())


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="CNN"), "Unknown recurrent layer 'CNN'"),
    (dict(hidden_size=0), "Choose 1 to 64 hidden units"),
    (dict(hidden_size=65), "Choose 1 to 64 hidden units"),
    (dict(lr=0.0), "learning rate must be a positive number"),
    (dict(lr=math.nan), "learning rate must be a positive number"),
    (dict(seq_len=0), "1 to 500 steps per wave"),
    (dict(batch=1000), "1 to 256 waves per batch"),
])
def test_start_errors(kwargs, message):
    with pytest.raises(ExplorerError, match=message):
        start_training(**kwargs)


def test_step_count_errors():
    with pytest.raises(ExplorerError, match=f"Choose 1 to {MAX_TRAINING_STEPS} training steps"):
        train_next_value("RNN", 2, steps=0)
    start = start_training("RNN", 2)
    with pytest.raises(ExplorerError, match="0 are done and 2001 more"):
        continue_training(start, MAX_TRAINING_STEPS + 1)
