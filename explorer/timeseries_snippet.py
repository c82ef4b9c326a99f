"""A runnable script that rebuilds the page's trained model and runs one window through it.

Weights and inputs are written exactly (explorer.snippets.tensor_literal), and the attention class
repeats AdditiveAttention's forward op for op, so the script prints the page's numbers to the bit.
"""
from .snippets import tensor_literal

ATTENTION_CLASS = '''
class AdditiveAttention(nn.Module):
    """Bahdanau attention: score_t = v^T tanh(W_q query + W_k key_t), weights = softmax over t."""

    def __init__(self, dim):
        super().__init__()
        self.w_q = nn.Linear(dim, dim, bias=False)
        self.w_k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, 1, bias=False)

    def forward(self, query, keys):
        hidden = torch.tanh(self.w_q(query).unsqueeze(2) + self.w_k(keys).unsqueeze(1))  # [B, 1, T, H]
        weights = torch.softmax(self.v(hidden).squeeze(-1), dim=-1)                     # [B, 1, T]
        return weights @ keys, weights                                                  # [B, 1, H], [B, 1, T]
'''

PRINTS = ("conv output d", "attention weights", "prediction (scaled)", "prediction")


def snippet(trace, scaling, step, b=0):
    """Source that rebuilds trace.module, feeds it window b of trace.x and prints, one per line:
    the conv output, the attention weights, the scaled prediction and the prediction in original
    units (prediction * std + mean), each after its label from PRINTS."""
    m = trace.module
    H, T = m.hidden, trace.steps
    x = trace.x[b:b + 1]
    params = ["    " + f"{name}.copy_({tensor_literal(p)})"
              for name, p in (("conv.weight", m.conv.weight),)]
    for prefix, module in (("lstm", m.lstm), ("attention", m.attention), ("head", m.head)):
        params += [f"    {prefix}.{name}.copy_({tensor_literal(p)})" for name, p in module.named_parameters()]
    double = any(p.dtype.itemsize == 8 for p in m.parameters())
    lines = ['"""Layer Lab, time-series pipeline: the page\'s trained model on the window before step '
             f'{step}."""', "import torch", "from torch import nn", "", ATTENTION_CLASS.strip("\n"), "", "",
             "conv = nn.Conv1d(1, 1, kernel_size=3, padding=1, bias=False)   # the differentiator, fixed",
             f"lstm = nn.LSTM(input_size=1, hidden_size={H})",
             f"attention = AdditiveAttention({H})",
             f"head = nn.Linear({H}, 1)"]
    if double:
        lines.append("conv, lstm, attention, head = (m.double() for m in (conv, lstm, attention, head))")
    lines += ["with torch.no_grad():", *params, "",
              f"mean, std = {scaling.mean!r}, {scaling.std!r}   # the series' scaling: x = (value - mean) / std",
              f"x = {tensor_literal(x)}   # [batch, channels, seq] = [1, 1, {T}]",
              "with torch.no_grad():",
              f"    d = conv(x)                                   # [1, 1, {T}]  d_t = x_(t-1) - x_(t+1)",
              f"    seq = d.permute(2, 0, 1)                      # [{T}, 1, 1]  [seq, batch, features]",
              f"    out, (h_n, c_n) = lstm(seq)                   # [{T}, 1, {H}], [1, 1, {H}]",
              "    query, keys = h_n[-1].unsqueeze(1), out.permute(1, 0, 2)",
              f"    context, weights = attention(query, keys)     # [1, 1, {H}], [1, 1, {T}]",
              "    y = head(context[:, 0])                       # [1, 1]",
              f'print("{PRINTS[0]}:", d.flatten().tolist())',
              f'print("{PRINTS[1]}:", weights.flatten().tolist())',
              f'print("{PRINTS[2]}:", y.item())',
              f'print("{PRINTS[3]}:", y.item() * std + mean)']
    return "\n".join(lines) + "\n"
