"""Running statistics over batches, train vs eval mode, and the batch-size noise experiment."""
import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from explorer import ExplorerError
from explorer.normalization_steps import (_three_norms, batch_size_effect, seeded_batches, similar_batches,
                                          train_then_eval)

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def test_seeded_batches_are_reproducible_and_centred_per_channel():
    a = seeded_batches((2000, 3), 2, seed=7, mean=[0.0, 5.0, -5.0], std=[1.0, 0.1, 2.0])
    b = seeded_batches((2000, 3), 2, seed=7, mean=[0.0, 5.0, -5.0], std=[1.0, 0.1, 2.0])
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(a[0], a[1])
    assert a[0].mean(0).tolist() == pytest.approx([0.0, 5.0, -5.0], abs=0.15)
    assert a[0].std(0).tolist() == pytest.approx([1.0, 0.1, 2.0], rel=0.1)
    assert seeded_batches((4, 2, 3, 3), 1, seed=0, dtype=torch.float64)[0].dtype == torch.float64


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from([nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm1d]),
       momentum=st.sampled_from([0.1, 0.7, None]), k=st.integers(1, 5), dtype=st.sampled_from([torch.float32,
                                                                                               torch.float64]),
       seed=st.integers(0, 1000))
def test_running_stats_follow_torch_batch_after_batch(kind, momentum, k, dtype, seed):
    shape = {nn.BatchNorm1d: (5, 3), nn.BatchNorm2d: (4, 3, 2, 3), nn.InstanceNorm1d: (4, 3, 6)}[kind]
    module = kind(3, momentum=momentum, track_running_stats=True).to(dtype)
    state = copy.deepcopy(module.state_dict())
    batches = seeded_batches(shape, k, seed=seed, mean=[1.0, -2.0, 3.0], std=2.0, dtype=dtype)
    run = train_then_eval(module, batches)

    reference = copy.deepcopy(module).train()
    assert torch.equal(run.running_mean[0], reference.running_mean)
    for step, b in enumerate(batches, 1):
        with torch.no_grad():
            reference(b)
        assert torch.allclose(run.running_mean[step], reference.running_mean, atol=TOL[dtype])
        assert torch.allclose(run.running_var[step], reference.running_var, atol=TOL[dtype])
    with torch.no_grad():
        assert torch.equal(run.eval_trace.output, reference.eval()(batches[-1]))
    assert run.eval_trace.max_abs_error < 1e-4 and run.train_trace.max_abs_error < 1e-4
    assert all(torch.equal(v, state[name]) for name, v in module.state_dict().items())  # the original is untouched
    assert len(run.traces) == len(run.factors) == run.batch_mean.shape[0] == k


def test_momentum_formula_by_hand():
    # momentum 0.5, running mean starts at 0: after batches of mean 4 and 8 it is 0.5*(0.5*0 + 0.5*4) + 0.5*8 = 5
    batches = [torch.tensor([[3.0], [5.0]]), torch.tensor([[7.0], [9.0]])]
    run = train_then_eval(nn.BatchNorm1d(1, momentum=0.5), batches)
    assert run.running_mean.flatten().tolist() == [0.0, 2.0, 5.0]
    assert run.batch_mean.flatten().tolist() == [4.0, 8.0]
    # unbiased variance of [3, 5] and of [7, 9] is 2: running var 1 -> 0.5 + 1 = 1.5 -> 0.75 + 1 = 1.75
    assert run.batch_var.flatten().tolist() == [2.0, 2.0]
    assert run.running_var.flatten().tolist() == pytest.approx([1.0, 1.5, 1.75])
    # eval: (x - 5) / sqrt(1.75 + eps); train normalizes [7, 9] with its own mean 8 and biased var 1
    assert run.eval_trace.output.flatten().tolist() == pytest.approx([2 / 1.75 ** 0.5, 4 / 1.75 ** 0.5], rel=1e-5)
    assert run.train_trace.output.flatten().tolist() == pytest.approx([-1.0, 1.0], rel=1e-4)


def test_cumulative_average_weights_every_batch_equally():
    batches = seeded_batches((6, 2), 4, seed=3, mean=[2.0, -1.0])
    run = train_then_eval(nn.BatchNorm1d(2, momentum=None), batches)
    assert run.factors == pytest.approx((1.0, 1 / 2, 1 / 3, 1 / 4))
    assert torch.allclose(run.running_mean[-1], run.batch_mean.mean(0), atol=1e-6)


def test_population_values_are_passed_through():
    run = train_then_eval(nn.BatchNorm1d(2), seeded_batches((4, 2), 2, seed=0), x_eval=torch.zeros(3, 2),
                          population_mean=torch.zeros(2), population_var=torch.ones(2))
    assert run.population_mean.tolist() == [0.0, 0.0] and run.eval_trace.x.shape == (3, 2)


@pytest.mark.parametrize("module, batches, message", [
    (nn.LayerNorm(3), [torch.zeros(2, 3)], "takes one of"),
    (nn.BatchNorm1d(3, track_running_stats=False), [torch.zeros(2, 3)], "keeps no running statistics"),
    (nn.BatchNorm1d(3), [], "at least one batch"),
    (nn.BatchNorm1d(3), [torch.zeros(1, 3)], "more than 1 value per channel"),
])
def test_train_then_eval_errors(module, batches, message):
    with pytest.raises(ExplorerError) as err:
        train_then_eval(module, batches)
    assert message in str(err.value)


def test_three_norms_match_the_real_layers():
    x = torch.randn(3, 5, 4, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    norms = _three_norms(x, 2, 1e-5)
    bn = nn.BatchNorm2d(4, affine=False, track_running_stats=False).double()
    ln = nn.LayerNorm((4, 2, 2), elementwise_affine=False).double()
    gn = nn.GroupNorm(2, 4, affine=False).double()
    with torch.no_grad():
        for trial in range(3):
            assert torch.allclose(norms["BatchNorm"][1][trial], bn(x[trial]), atol=1e-10)
            assert torch.allclose(norms["LayerNorm"][1][trial], ln(x[trial]), atol=1e-10)
            assert torch.allclose(norms["GroupNorm"][1][trial], gn(x[trial]), atol=1e-10)


def test_batch_size_noise_shrinks_for_batchnorm_only():
    e = batch_size_effect((1, 4, 16, 64), trials=48, seed=1)
    bn, ln, gn = (e.mean_spread[k] for k in ("BatchNorm", "LayerNorm", "GroupNorm"))
    # BatchNorm averages B * 16 values: its spread falls like 1/sqrt(B) (1/8 from B = 1 to 64)
    assert float(bn[-1]) < float(bn[0]) / 4
    # the others average a fixed number of values from one sample: no trend with B
    for spread in (ln, gn):
        assert float(spread.max()) < 2 * float(spread.min())
    assert e.counts["BatchNorm"].tolist() == [16, 64, 256, 1024] and e.counts["GroupNorm"].tolist() == [32] * 4
    out = e.output_spread
    assert out["LayerNorm"].abs().max() == 0 and out["GroupNorm"].abs().max() == 0
    assert out["BatchNorm"][0] == 0           # a batch of one has no other samples to move it
    assert (out["BatchNorm"][1:] > 0).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_sizes=(0, 2)), "at least 1"),
    (dict(batch_sizes=()), "at least 1"),
    (dict(size=1), "at least 2 positions"),
    (dict(channels=4, num_groups=3), "cannot be split"),
])
def test_batch_size_effect_errors(kwargs, message):
    with pytest.raises(ExplorerError) as err:
        batch_size_effect(**kwargs)
    assert message in str(err.value)


def test_similar_batches_are_drawn_around_the_inputs_own_channels():
    # channel 0 of x holds 1 and 3 (mean 2, biased var 1), channel 1 holds 10 and 20 (mean 15, var 25)
    x = torch.tensor([[1.0, 10.0], [3.0, 20.0]])
    batches, mean, var = similar_batches(x, 3, seed=4)
    assert mean.tolist() == [2.0, 15.0] and var.tolist() == [1.0, 25.0]
    g = torch.Generator().manual_seed(4)
    for b in batches:   # the documented recipe: mean_c + std_c * z, z from the seeded generator
        assert torch.equal(b, mean.view(1, -1) + var.sqrt().view(1, -1) * torch.randn((2, 2), generator=g))
    big, _, _ = similar_batches(torch.stack([torch.tensor([1.0, 10.0]), torch.tensor([3.0, 20.0])] * 500), 1, 0)
    assert big[0].mean(0).tolist() == pytest.approx([2.0, 15.0], abs=0.3)
    with pytest.raises(ExplorerError, match="batched input"):
        similar_batches(torch.zeros(3), 1, 0)


def test_run_records_both_variances_of_every_batch():
    batches = seeded_batches((5, 2, 3), 3, seed=9, mean=[1.0, -1.0])
    run = train_then_eval(nn.BatchNorm1d(2), batches)
    assert run.counts == (15, 15, 15)   # each channel averages 5 samples x 3 positions
    for k, b in enumerate(batches):
        biased = b.transpose(0, 1).reshape(2, -1).var(dim=1, correction=0)
        assert torch.allclose(run.batch_biased_var[k], biased, atol=1e-6)
        assert torch.allclose(run.batch_var[k], biased * 15 / 14, atol=1e-6)


def test_fixed_sample_statistics_move_only_for_batchnorm():
    e = batch_size_effect((1, 2, 16), trials=20, seed=3)
    for name in ("LayerNorm", "GroupNorm"):
        for values in (e.fixed_mean[name], e.fixed_output[name]):
            assert torch.equal(values, values[:, :1].expand_as(values))   # one value, whatever the batch-mates
    bn_mean, bn_out = e.fixed_mean["BatchNorm"], e.fixed_output["BatchNorm"]
    assert bn_mean.shape == (3, 20)
    assert float(bn_mean[0].std()) == 0.0 and float(bn_out[0].std()) == 0.0   # a batch of one: only sample 0
    assert float(bn_out[1].std()) > float(bn_out[2].std()) > 0                # more batch-mates, less noise
