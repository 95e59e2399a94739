// The layer table (Note [Layer table] in test_layers.cpp): one row per layer configuration, added from
// each area's own file with `static test::LayerRows rows(&my_layers);`. test_layers.cpp generates, for
// every row: gradcheck and gradgradcheck in float64 with respect to the inputs and every parameter,
// PyTorch's state_dict keys and shapes, a state_dict round trip, and the module's printing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace test {

using namespace tapegrad;

struct LayerInfo {
  std::string name;  // the configuration, as a user would write it: "Linear(3, 4)"
  std::function<std::unique_ptr<nn::Module>()> make;
  // float64 inputs sampled U(-2, 2), requiring grad; or `inputs` for other samples (int64 indices, ...).
  std::vector<Shape> input_shapes;
  std::function<std::vector<Tensor>()> inputs;
  // Calls the module; default: one input through operator(). Layers with other signatures (LSTM,
  // Bilinear, losses) return every floating output that gradients should flow from.
  std::function<std::vector<Tensor>(nn::Module&, const std::vector<Tensor>&)> call;
  // PyTorch's state_dict keys and shapes, in order (checked when given).
  std::vector<std::pair<std::string, Shape>> state;
  bool training = true;
  bool second_order = true;  // gradgradcheck too (false only with a reason in the row's comment)
  GradcheckOptions options{};
};

std::vector<LayerInfo>& layer_table();

struct LayerRows {
  explicit LayerRows(void (*add)(std::vector<LayerInfo>&)) { add(layer_table()); }
};

}  // namespace test
