#!/usr/bin/python3
"""Writes the PyTorch fixtures of tests/test_conv.cpp: for each configuration, the inputs (x, weight,
bias, the upstream gradient gy) and PyTorch's output and gradients, float64, as .npy files:

    cd tests/data/conv && /usr/bin/python3 make_conv.py

The configurations (their options) are repeated in test_conv.cpp's fixture table."""
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
configs = {
    "conv2d_basic": (F.conv2d, [2, 3, 6, 5], [4, 3, 3, 3], dict(padding=1)),
    "conv2d_strided_groups": (F.conv2d, [2, 4, 7, 8], [6, 2, 3, 2],
                              dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    "conv2d_same": (F.conv2d, [1, 2, 5, 6], [3, 2, 4, 3], dict(padding="same", dilation=(2, 1))),
    "conv1d": (F.conv1d, [2, 4, 10], [6, 2, 3], dict(stride=2, padding=2, dilation=2, groups=2)),
    "conv_transpose2d": (F.conv_transpose2d, [2, 4, 3, 4], [4, 3, 3, 3],
                         dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2)),
}
for name, (op, x_shape, w_shape, options) in configs.items():
    x = (torch.rand(x_shape, dtype=torch.float64) * 4 - 2).requires_grad_()
    w = (torch.rand(w_shape, dtype=torch.float64) * 2 - 1).requires_grad_()
    out_channels = w_shape[1] * options.get("groups", 1) if op is F.conv_transpose2d else w_shape[0]
    b = (torch.rand([out_channels], dtype=torch.float64) * 2 - 1).requires_grad_()
    y = op(x, w, b, **options)
    gy = torch.rand(y.shape, dtype=torch.float64) * 2 - 1
    y.backward(gy)
    for suffix, t in [("x", x), ("w", w), ("b", b), ("gy", gy), ("y", y), ("gx", x.grad), ("gw", w.grad),
                      ("gb", b.grad)]:
        np.save(f"{name}_{suffix}.npy", t.detach().numpy())
