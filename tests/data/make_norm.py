#!/usr/bin/python3
"""Writes the PyTorch fixtures of tests/test_norm.cpp: for each case a folder tests/data/norm/<case>/
holding .npy files (float64 unless said): the inputs (x, weight, bias, running_mean, running_var,
gy: the upstream gradient), PyTorch's output y, the gradients gx, gweight, gbias of (y * gy).sum(),
and the running statistics after the call (running_mean_after, running_var_after). args.npy holds
the case's numbers (see each op below). Run from anywhere: /usr/bin/python3 tests/data/make_norm.py"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "norm")
shutil.rmtree(root, ignore_errors=True)


def save(case, **arrays):
    folder = os.path.join(root, case)
    os.makedirs(folder)
    for name, value in arrays.items():
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().numpy()
        np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(value))


def leaf(t):
    return None if t is None else t.clone().requires_grad_()


def run(case, f, x, weight, bias, extra):
    x, weight, bias = leaf(x), leaf(weight), leaf(bias)
    y = f(x, weight, bias)
    gy = torch.randn_like(y)
    (y * gy).sum().backward()
    save(case, x=x, weight=weight, bias=bias, gy=gy, y=y, gx=x.grad,
         gweight=None if weight is None else weight.grad, gbias=None if bias is None else bias.grad, **extra)


def randn(*shape, dtype=torch.float64):
    return torch.randn(*shape, dtype=dtype)


# batch_norm: args = [training, momentum, eps]
def batch_norm(case, x, affine=True, running=True, training=True, momentum=0.1, eps=1e-5):
    c = x.shape[1]
    weight = randn(c, dtype=x.dtype) if affine else None
    bias = randn(c, dtype=x.dtype) if affine else None
    rm = randn(c, dtype=x.dtype) if running else None
    rv = torch.rand(c, dtype=x.dtype) + 0.5 if running else None
    before = dict(running_mean=None if rm is None else rm.clone(), running_var=None if rv is None else rv.clone())
    rm_after, rv_after = (None, None) if not running else (rm.clone(), rv.clone())
    run(case, lambda x, w, b: F.batch_norm(x, rm_after, rv_after, w, b, training, momentum, eps), x, weight, bias,
        dict(before, running_mean_after=rm_after, running_var_after=rv_after,
             args=np.array([float(training), momentum, eps])))


batch_norm("bn_train_2d", randn(6, 3))
batch_norm("bn_train_3d_no_affine", randn(4, 3, 5), affine=False, momentum=0.25)
batch_norm("bn_train_4d", randn(3, 4, 3, 2) * 3 + 1, eps=1e-3)
batch_norm("bn_train_no_running", randn(4, 2, 3), running=False)
batch_norm("bn_eval_4d", randn(2, 3, 2, 2), training=False)
batch_norm("bn_eval_no_affine", randn(5, 2), affine=False, training=False)
x = randn(4, 3, 2)
x[:, 1] = 0.75  # a constant channel: variance 0
batch_norm("bn_train_constant_channel", x)
x = randn(4, 3)
x[2, 1] = float("nan")  # NaN stays in its channel
batch_norm("bn_train_nan", x)
batch_norm("bn_train_float32", randn(8, 3, 4, dtype=torch.float32))


# layer_norm: args = [eps, normalized_shape...]
def layer_norm(case, x, k, affine=True, eps=1e-5):
    shape = list(x.shape[-k:])
    weight = randn(*shape) if affine else None
    bias = randn(*shape) if affine else None
    run(case, lambda x, w, b: F.layer_norm(x, shape, w, b, eps), x, weight, bias,
        dict(args=np.array([eps] + shape, dtype=np.float64)))


layer_norm("ln_2_axes", randn(2, 3, 4), 2)
layer_norm("ln_last_axis_no_affine", randn(5, 4), 1, affine=False)
layer_norm("ln_4d", randn(2, 2, 3, 2) * 5 - 2, 1, eps=1e-2)


# group_norm: args = [eps, num_groups]
def group_norm(case, x, groups, affine=True, eps=1e-5):
    c = x.shape[1]
    weight = randn(c) if affine else None
    bias = randn(c) if affine else None
    run(case, lambda x, w, b: F.group_norm(x, groups, w, b, eps), x, weight, bias,
        dict(args=np.array([eps, groups], dtype=np.float64)))


group_norm("gn_3d", randn(2, 6, 3), 3)
group_norm("gn_4d_no_affine", randn(3, 4, 2, 2), 2, affine=False)
group_norm("gn_one_group", randn(2, 4, 3), 1)
group_norm("gn_group_per_channel", randn(2, 4, 3), 4)
group_norm("gn_2d", randn(3, 6), 2)


# Modules (tests/data/norm_modules/<case>/): a BatchNorm layer with random weight and bias, trained
# on the batches x0, x1, ... (y_train: the last output), then evaluated on x_eval (y_eval); the
# buffers after (running_mean_after, running_var_after, num_batches_tracked_after: int64).
# args = [momentum (NaN: None), eps, track_running_stats]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "norm_modules")
shutil.rmtree(root, ignore_errors=True)


def module_case(case, layer, batches, x_eval):
    with torch.no_grad():
        layer.weight.copy_(torch.randn_like(layer.weight))
        layer.bias.copy_(torch.randn_like(layer.bias))
    arrays = dict(weight=layer.weight.detach().clone(), bias=layer.bias.detach().clone(), x_eval=x_eval)
    layer.train()
    for k, x in enumerate(batches):
        arrays["x%d" % k] = x
        arrays["y_train"] = layer(x).detach()
    layer.eval()
    arrays["y_eval"] = layer(x_eval).detach()
    if layer.track_running_stats:
        arrays.update(running_mean_after=layer.running_mean, running_var_after=layer.running_var,
                      num_batches_tracked_after=layer.num_batches_tracked.numpy().astype(np.int64))
    momentum = float("nan") if layer.momentum is None else layer.momentum
    arrays["args"] = np.array([momentum, layer.eps, float(layer.track_running_stats)])
    save(case, **arrays)


module_case("bn1d_momentum_none", torch.nn.BatchNorm1d(3, momentum=None).double(),
            [randn(4, 3) * 2 + 1 for _ in range(3)], randn(5, 3))
module_case("bn1d_3d", torch.nn.BatchNorm1d(2, momentum=0.3).double(), [randn(3, 2, 4) for _ in range(2)],
            randn(2, 2, 3))
module_case("bn2d", torch.nn.BatchNorm2d(3, eps=1e-3).double(), [randn(2, 3, 2, 3) - 1 for _ in range(2)],
            randn(1, 3, 2, 2))
module_case("bn2d_no_tracking", torch.nn.BatchNorm2d(2, track_running_stats=False).double(),
            [randn(2, 2, 2, 2)], randn(3, 2, 1, 2))
