// The reference models of Fashion-MNIST (../shared/REFERENCE.md), written the way a user writes a
// model: a class per model, its layers as members, forward below. The benchmarks, the `tapegrad`
// program and the tests use these, so what we measure and ship is what a user would copy.
// Every model takes images [N, 1, 28, 28] (or [N, 784]) and returns logits [N, 10].
#pragma once

#include <tapegrad/tapegrad.hpp>

namespace tapegrad::examples {

// MLP 784-256-128-10 with ReLU.
struct Mlp : nn::Module {
  nn::Linear& fc1 = register_module("fc1", nn::Linear(784, 256));
  nn::Linear& fc2 = register_module("fc2", nn::Linear(256, 128));
  nn::Linear& fc3 = register_module("fc3", nn::Linear(128, 10));

  Tensor forward(const Tensor& images) override {
    Tensor x = images.flatten(1);
    x = relu(fc1(x));
    x = relu(fc2(x));
    return fc3(x);
  }
};

// conv(1->32, 3x3, pad 1)-relu-maxpool(2)-conv(32->64, 3x3, pad 1)-relu-maxpool(2)-fc(3136->128)-relu-fc(128->10),
// optionally with batch norm after each convolution and dropout before the last layer.
struct Cnn : nn::Module {
  explicit Cnn(bool batch_norm = false, double dropout = 0.0) : batch_norm(batch_norm), dropout_p(dropout) {
    if (batch_norm) {
      bn1 = &register_module("bn1", nn::BatchNorm2d(32));
      bn2 = &register_module("bn2", nn::BatchNorm2d(64));
    }
  }
  nn::Conv2d& conv1 = register_module("conv1", nn::Conv2d(1, 32, 3, {.padding = 1}));
  nn::Conv2d& conv2 = register_module("conv2", nn::Conv2d(32, 64, 3, {.padding = 1}));
  nn::Linear& fc1 = register_module("fc1", nn::Linear(3136, 128));
  nn::Linear& fc2 = register_module("fc2", nn::Linear(128, 10));
  nn::BatchNorm2d* bn1 = nullptr;
  nn::BatchNorm2d* bn2 = nullptr;
  bool batch_norm;
  double dropout_p;

  Tensor forward(const Tensor& images) override {
    Tensor x = images.reshape({-1, 1, 28, 28});
    x = conv1(x);
    if (bn1) x = (*bn1)(x);
    x = max_pool2d(relu(x), 2);
    x = conv2(x);
    if (bn2) x = (*bn2)(x);
    x = max_pool2d(relu(x), 2);
    x = relu(fc1(x.flatten(1)));
    if (dropout_p > 0) x = dropout(x, dropout_p, is_training());
    return fc2(x);
  }
};

// Reads the image row by row: 28 steps of 28 pixels through an LSTM (or GRU) of 128 units, then
// fc(128->10) on the last step's output.
template <class Recurrent>
struct RowReader : nn::Module {
  Recurrent& rnn = register_module("rnn", Recurrent(28, 128, {.batch_first = true}));
  nn::Linear& fc = register_module("fc", nn::Linear(128, 10));

  Tensor forward(const Tensor& images) override {
    Tensor rows = images.reshape({-1, 28, 28});
    Tensor outputs = rnn(rows).output;  // [N, 28, 128]
    return fc(outputs.select(1, 27));
  }
};
using LstmClassifier = RowReader<nn::LSTM>;
using GruClassifier = RowReader<nn::GRU>;

}  // namespace tapegrad::examples
