#!/usr/bin/python3
"""PyTorch references for tests/test_models.cpp: each model's state_dict, an input, PyTorch's output
and the gradients of sum(output * weights) with respect to the input and every parameter, in float64
and float32, one safetensors file per model and dtype. Run from the repository root with Debian's
torch:  /usr/bin/python3 tests/data/models/make_models.py
The C++ test builds the same model, loads the state_dict and compares."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "safetensors"))
from make_safetensors import save  # noqa: E402

HERE = os.path.dirname(__file__)


def mlp():
    # The C++ twin: Sequential(Linear(12, 16), relu, Linear(16, 8), tanh, Linear(8, 5))
    class ReLU(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x)

    class Tanh(torch.nn.Module):
        def forward(self, x):
            return torch.tanh(x)

    model = torch.nn.Sequential(torch.nn.Linear(12, 16), ReLU(), torch.nn.Linear(16, 8), Tanh(), torch.nn.Linear(8, 5))
    return model, [(6, 12)]


MODELS = {"mlp": mlp}


def write(name, build, dtype):
    torch.manual_seed(0)
    model, input_shapes = build()
    model = model.to(dtype)
    inputs = [(torch.rand(shape, dtype=dtype) * 4 - 2).requires_grad_() for shape in input_shapes]
    output = model(*inputs)
    weights = torch.randn(output.shape, dtype=dtype)
    (output * weights).sum().backward()
    tensors = {}
    for key, value in model.state_dict().items():
        tensors["state." + key] = value
    for i, x in enumerate(inputs):
        tensors["input.%d" % i] = x.detach()
        tensors["input_grad.%d" % i] = x.grad
    tensors["output"] = output.detach()
    tensors["weights"] = weights
    for key, p in model.named_parameters():
        tensors["grad." + key] = p.grad
    suffix = "f64" if dtype == torch.float64 else "f32"
    save(os.path.join(HERE, "%s_%s.safetensors" % (name, suffix)), {k: v.contiguous() for k, v in tensors.items()})


if __name__ == "__main__":
    for name, build in MODELS.items():
        for dtype in (torch.float64, torch.float32):
            write(name, build, dtype)
