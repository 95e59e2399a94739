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


def mlp_batchnorm(training):
    # The C++ twin: Sequential(Linear(6, 8), BatchNorm1d(8), relu, Linear(8, 3)); its running statistics
    # from three training batches, then evaluated (or trained on the fixture's input).
    class ReLU(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x)

    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
        for _ in range(3):
            model(torch.rand(10, 6) * 3 - 1)
    model.train(training)
    return model, [(5, 6)]


def cnn():
    # The reference CNN's structure at a fixture's size, in evaluation (batch norm on its running
    # statistics, dropout off). The C++ twin is SmallCnn in tests/test_models.cpp.
    class SmallCnn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.bn1 = torch.nn.BatchNorm2d(4)
            self.conv2 = torch.nn.Conv2d(4, 6, 3, padding=1)
            self.bn2 = torch.nn.BatchNorm2d(6)
            self.fc1 = torch.nn.Linear(6 * 3 * 3, 8)
            self.drop = torch.nn.Dropout(0.5)
            self.fc2 = torch.nn.Linear(8, 5)

        def forward(self, x):
            x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
            x = torch.nn.functional.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
            return self.fc2(self.drop(torch.relu(self.fc1(x.flatten(1)))))

    model = SmallCnn()
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
        for _ in range(3):
            model(torch.rand(4, 1, 12, 12) * 3 - 1)
    model.eval()
    return model, [(3, 1, 12, 12)]


def row_reader(kind):
    # An LSTM or GRU (2 layers, bidirectional, batch_first) reading 6 steps of 5 features, then fc on
    # the last step. The C++ twin is RowReader in tests/test_models.cpp.
    class RowReader(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = kind(5, 7, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = torch.nn.Linear(14, 3)

        def forward(self, x):
            return self.fc(self.rnn(x)[0][:, -1])

    return RowReader(), [(4, 6, 5)]


MODELS = {"mlp": mlp, "mlp_batchnorm": lambda: mlp_batchnorm(False), "mlp_batchnorm_train": lambda: mlp_batchnorm(True),
          "cnn": cnn, "lstm": lambda: row_reader(torch.nn.LSTM), "gru": lambda: row_reader(torch.nn.GRU)}


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
