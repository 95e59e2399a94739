// The README's model tour: a model class, training with an optimiser and a scheduler, saving and
// loading its weights (safetensors, PyTorch's state_dict names).
//
//   build/examples/model_tour [steps]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;

// A model reads like its PyTorch twin: layers are registered members, forward composes them.
struct Classifier : nn::Module {
  nn::Linear& hidden = register_module("hidden", nn::Linear(2, 32));
  nn::Dropout& drop = register_module("drop", nn::Dropout(0.1));
  nn::Linear& out = register_module("out", nn::Linear(32, 2));

  Tensor forward(const Tensor& x) override { return out(drop(relu(hidden(x)))); }
};

double accuracy(nn::Module& model, const Tensor& x, const Tensor& labels) {
  NoGradGuard no_grad;  // inference: nothing is recorded or saved
  return mean(eq(argmax(model(x), 1), labels).to(float32)).item();
}

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  manual_seed(0);
  // Points in a square, labelled by whether they lie inside the unit circle.
  Tensor x = uniform({512, 2}, -1.5, 1.5);
  Tensor labels = lt(sum(x * x, {1}), scalar(1.0));  // int64 0 / 1

  Classifier model;
  std::cout << model << "\n" << nn::summary(model);

  optim::Adam optimizer(model.parameters(), {.lr = 0.02});
  optim::StepLR scheduler(optimizer, /*step_size=*/100, /*gamma=*/0.5);
  nn::CrossEntropyLoss criterion;
  for (int step = 1; step <= steps; ++step) {
    Tensor loss = criterion(model(x), labels);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    scheduler.step();
    if (step % 100 == 0) std::printf("step %d  loss %.4f  lr %.4g\n", step, loss.item(), scheduler.get_last_lr()[0]);
  }
  model.eval();  // dropout off
  const double trained = accuracy(model, x, labels);
  std::printf("accuracy %.3f\n", trained);

  // Weights go to a safetensors file under PyTorch's names ("hidden.weight", ...) and come back.
  const auto path = std::filesystem::temp_directory_path() / "classifier.safetensors";
  save_safetensors(path, model.state_dict());
  Classifier restored;
  restored.load_state_dict(load_safetensors(path));
  restored.eval();
  std::printf("restored accuracy %.3f\n", accuracy(restored, x, labels));
  return trained > 0.9 && accuracy(restored, x, labels) == trained ? 0 : 1;
}
