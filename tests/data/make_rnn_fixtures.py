#!/usr/bin/python3
"""PyTorch references for tapegrad's nn::LSTM and nn::GRU (tests/test_rnn_layers.cpp).

Run from the repository root with Debian's torch: /usr/bin/python3 tests/data/make_rnn_fixtures.py
Writes tests/data/rnn/<model>/<name>.npy in float64: the weights under their PyTorch state_dict keys,
the input and initial states, PyTorch's output and final states, and the gradients of
loss = sum(output * w_out) + sum(h_n * w_h) (+ sum(c_n * w_c)) for the input and initial states.
"""
import os

import numpy as np
import torch

torch.manual_seed(0)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnn")

# 2 layers, bidirectional, batch_first, 5 steps, batch 2, input 3, hidden 4.
models = {
    "lstm": torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64),
    "gru": torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64),
}
for name, model in models.items():
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    tensors = {key: value.detach() for key, value in model.state_dict().items()}
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 4, dtype=torch.float64, requires_grad=True)
    if name == "lstm":
        c0 = torch.randn(4, 2, 4, dtype=torch.float64, requires_grad=True)
        output, (h_n, c_n) = model(x, (h0, c0))
    else:
        output, h_n = model(x, h0)
    w_out = torch.randn(output.shape, dtype=torch.float64)
    w_h = torch.randn(h_n.shape, dtype=torch.float64)
    loss = (output * w_out).sum() + (h_n * w_h).sum()
    tensors.update(input=x, h0=h0, output=output, h_n=h_n, w_out=w_out, w_h=w_h)
    if name == "lstm":
        w_c = torch.randn(c_n.shape, dtype=torch.float64)
        loss = loss + (c_n * w_c).sum()
        tensors.update(c0=c0, c_n=c_n, w_c=w_c)
    loss.backward()
    tensors.update(input_grad=x.grad, h0_grad=h0.grad)
    if name == "lstm":
        tensors.update(c0_grad=c0.grad)
    for key, value in tensors.items():
        np.save(os.path.join(folder, key + ".npy"), value.detach().numpy())
