"""Snippet source holds exactly the values it was made from, small tensors as numbers, large ones as bytes."""
import pytest
import torch

from explorer.snippets import MAX_LITERAL_VALUES, tensor_literal


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (MAX_LITERAL_VALUES + 1,), (3, 40, 40)])
def test_literal_round_trips_exactly(shape, dtype):
    t = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=dtype) * 1e3
    back = eval(tensor_literal(t), {"torch": torch})
    assert back.dtype == dtype and back.shape == t.shape
    assert torch.equal(back, t)


def test_small_tensors_stay_readable_numbers():
    assert tensor_literal(torch.tensor([[1.0, -0.5]])) == "torch.tensor([[1.0, -0.5]])"
    # float32 1.77 is 1.7699999809265137 in double; the literal is the shortest text that rounds back
    assert tensor_literal(torch.tensor([1.77])) == "torch.tensor([1.77])"
    assert tensor_literal(torch.tensor([2.0], dtype=torch.float64)) == "torch.tensor([2.0], dtype=torch.float64)"


def test_large_tensors_are_short_bytes_not_digits():
    t = torch.rand(512, 512)
    source = tensor_literal(t)
    assert "b64decode" in source
    assert len(source) < 4 * t.numel() * 4 / 3 + 200   # base64 of the float32 bytes, plus the call
