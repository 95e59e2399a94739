#!/usr/bin/python3
"""Writes the pooling fixtures of tests/test_pool.cpp with PyTorch (Debian's python3-torch):

    cd tests/data/pool && /usr/bin/python3 ../make_pool.py

One float64 input x [2, 2, 7, 6] (distinct values: no ties in any window), reshaped per case; each case
below is a row of the `cases` table in tests/test_pool.cpp, in the same order. For each case the
files hold, concatenated in case order and flattened: y.npy the output, indices.npy the max indices
(max cases only) and gx.npy the gradient of sum(y * gy) for gy[i] = cos(0.37 i + case)."""
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(8)
x0 = torch.randperm(2 * 2 * 7 * 6).double().reshape(2, 2, 7, 6) / 7.0 - 6.0
nan_x = x0.clone().flatten()
nan_x[[5, 40, 41, 100]] = float("nan")
nan_x = nan_x.reshape(x0.shape)

# (shape of x, NaNs?, function of x giving y or (y, indices))
cases = [
    ((2, 2, 7, 6), False, lambda x: F.max_pool2d(x, 2, return_indices=True)),
    ((2, 2, 7, 6), False, lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)),
    ((2, 2, 7, 6), False, lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0), (2, 1), return_indices=True)),
    ((2, 2, 7, 6), False, lambda x: F.max_pool2d(x, 2, 1, 1, 2, ceil_mode=True, return_indices=True)),
    ((4, 7, 6), False, lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True, return_indices=True)),
    ((2, 14, 6), False, lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True)),
    ((2, 14, 6), False, lambda x: F.max_pool1d(x, 2, 1, 1, 3, return_indices=True)),
    ((2, 2, 7, 6), True, lambda x: F.max_pool2d(x, 3, 2, return_indices=True)),
    ((2, 2, 7, 6), False, lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)),
    ((2, 2, 7, 6), False, lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ((2, 2, 7, 6), False, lambda x: F.avg_pool2d(x, (3, 2), (2, 3), (1, 1), ceil_mode=True, divisor_override=5)),
    ((4, 7, 6), False, lambda x: F.avg_pool2d(x, 2, 1, 1)),
    ((2, 14, 6), False, lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ((2, 2, 7, 6), False, lambda x: F.adaptive_avg_pool2d(x, (3, 4))),
    ((2, 2, 7, 6), False, lambda x: F.adaptive_avg_pool2d(x, (5, 9))),
    ((2, 14, 6), False, lambda x: F.adaptive_avg_pool1d(x, 4)),
    ((2, 2, 7, 6), False, lambda x: F.adaptive_max_pool2d(x, (3, 4), return_indices=True)),
    ((4, 7, 6), False, lambda x: F.adaptive_max_pool2d(x, (4, 9), return_indices=True)),
]

ys, indices, gxs = [], [], []
for case, (shape, nans, f) in enumerate(cases):
    x = (nan_x if nans else x0).reshape(shape).clone().requires_grad_()
    out = f(x)
    y = out[0] if isinstance(out, tuple) else out
    if isinstance(out, tuple):
        indices.append(out[1].flatten())
    gy = torch.cos(0.37 * torch.arange(y.numel(), dtype=torch.float64) + case).reshape(y.shape)
    (gx,) = torch.autograd.grad((y * gy).sum(), x)
    ys.append(y.detach().flatten())
    gxs.append(gx.flatten())

np.save("x.npy", x0.numpy())
np.save("y.npy", torch.cat(ys).numpy())
np.save("indices.npy", torch.cat(indices).numpy())
np.save("gx.npy", torch.cat(gxs).numpy())
