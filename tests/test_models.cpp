// PyTorch parity of whole models: each row builds a model the way a user would, loads the state_dict
// PyTorch saved (tests/data/models/make_models.py writes the fixtures), and must reproduce PyTorch's
// output and the gradients of sum(output * weights) with respect to the input and every parameter:
// to 1e-10 in float64 and 1e-5 in float32.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "helpers.hpp"

using namespace tapegrad;

namespace {

struct ModelInfo {
  std::string name;  // the fixture's stem: tests/data/models/<name>_{f64,f32}.safetensors
  std::function<std::unique_ptr<nn::Module>()> make;
  // Calls the model on the fixture's inputs; default: the one input through operator().
  std::function<Tensor(nn::Module&, const std::vector<Tensor>&)> call;
  bool training = false;
};

std::unique_ptr<nn::Module> mlp_batchnorm() {
  return std::make_unique<nn::Sequential>(nn::Linear(6, 8), nn::BatchNorm1d(8), [](const Tensor& x) { return relu(x); },
                                          nn::Linear(8, 3));
}

// The reference CNN's structure at a fixture's size: conv, batch norm, relu, max pool, twice, then
// fc-relu-dropout-fc.
struct SmallCnn : nn::Module {
  nn::Conv2d& conv1 = register_module("conv1", nn::Conv2d(1, 4, 3, {.padding = 1}));
  nn::BatchNorm2d& bn1 = register_module("bn1", nn::BatchNorm2d(4));
  nn::Conv2d& conv2 = register_module("conv2", nn::Conv2d(4, 6, 3, {.padding = 1}));
  nn::BatchNorm2d& bn2 = register_module("bn2", nn::BatchNorm2d(6));
  nn::Linear& fc1 = register_module("fc1", nn::Linear(6 * 3 * 3, 8));
  nn::Dropout& drop = register_module("drop", nn::Dropout(0.5));
  nn::Linear& fc2 = register_module("fc2", nn::Linear(8, 5));
  Tensor forward(const Tensor& x) override {
    Tensor h = max_pool2d(relu(bn1(conv1(x))), 2);
    h = max_pool2d(relu(bn2(conv2(h))), 2);
    return fc2(drop(relu(fc1(h.flatten(1)))));
  }
};

// An LSTM or GRU (2 layers, bidirectional, batch_first) reading the rows, then fc on the last step.
template <class Recurrent>
struct RowReader : nn::Module {
  Recurrent& rnn = register_module("rnn", Recurrent(5, 7, {.num_layers = 2, .batch_first = true, .bidirectional = true}));
  nn::Linear& fc = register_module("fc", nn::Linear(14, 3));
  Tensor forward(const Tensor& x) override { return fc(rnn(x).output.select(1, -1)); }
};

std::vector<ModelInfo> models() {
  return {
      {"mlp",
       [] {
         return std::make_unique<nn::Sequential>(nn::Linear(12, 16), [](const Tensor& x) { return relu(x); },
                                                 nn::Linear(16, 8), [](const Tensor& x) { return tanh(x); },
                                                 nn::Linear(8, 5));
       },
       {},
       false},
      {"mlp_batchnorm", mlp_batchnorm, {}, false},  // PyTorch's running statistics, in evaluation
      {"mlp_batchnorm_train", mlp_batchnorm, {}, true},
      {"cnn", [] { return std::make_unique<SmallCnn>(); }, {}, false},
      {"lstm", [] { return std::make_unique<RowReader<nn::LSTM>>(); }, {}, false},
      {"gru", [] { return std::make_unique<RowReader<nn::GRU>>(); }, {}, false},
  };
}

std::filesystem::path fixture(const std::string& stem) {
  return std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "models" / (stem + ".safetensors");
}

void check_near(const Tensor& actual, const Tensor& expected, double tol, const std::string& what) {
  INFO(what);
  REQUIRE(actual.defined());
  REQUIRE(actual.shape() == expected.shape());
  std::vector<double> a = actual.detach().to(float64).to_vector<double>();
  std::vector<double> e = expected.to(float64).to_vector<double>();
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - e[i]) / (1 + std::abs(e[i])));
  CHECK_MESSAGE(worst <= tol, what << ": worst difference " << worst);
}

}  // namespace

TEST_CASE("models load PyTorch's state_dict and reproduce its output and gradients") {
  for (const ModelInfo& row : models()) {
    for (auto [suffix, dtype, tol] : {std::tuple{"_f64", float64, 1e-10}, std::tuple{"_f32", float32, 1e-5}}) {
      INFO(row.name << suffix);
      StateDict file = load_safetensors(fixture(row.name + suffix));
      auto model = row.make();
      model->to(dtype);
      model->train(row.training);
      StateDict state;
      for (const auto& [name, t] : file)
        if (name.starts_with("state.")) state.insert(name.substr(6), t);
      model->load_state_dict(state);
      std::vector<Tensor> inputs;
      for (int i = 0; file.contains("input." + std::to_string(i)); ++i)
        inputs.push_back(file.at("input." + std::to_string(i)).clone().requires_grad_());
      Tensor output = row.call ? row.call(*model, inputs) : (*model)(inputs.at(0));
      check_near(output, file.at("output"), tol, "output");
      (output * file.at("weights")).sum().backward();
      for (std::size_t i = 0; i < inputs.size(); ++i)
        check_near(inputs[i].grad(), file.at("input_grad." + std::to_string(i)), tol, "input gradient");
      for (const auto& [name, p] : model->named_parameters())
        check_near(p.grad(), file.at("grad." + name), tol, "gradient of " + name);
    }
  }
}
