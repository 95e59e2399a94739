// The textbook network that introduces backpropagation, written from core ops:
// Linear(10, 20) -> ReLU -> Linear(20, 10) -> Sigmoid, trained with mean squared error by plain
// gradient descent on a synthetic problem. Its gradients are gradchecked before training.
//
//   build/examples/mlp [epochs]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

// A fully connected layer's parameters, initialised like torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)).
struct Linear {
  tg::Tensor weight, bias;  // weight [out, in], bias [out]
  Linear(std::int64_t in, std::int64_t out, tg::Generator& gen) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    weight = tg::uniform({out, in}, -bound, bound, tg::float32, &gen);
    bias = tg::uniform({out}, -bound, bound, tg::float32, &gen);
    weight.requires_grad_();
    bias.requires_grad_();
  }
  tg::Tensor operator()(const tg::Tensor& x) const { return tg::matmul(x, tg::transpose(weight, 0, 1)) + bias; }
};

tg::Tensor forward(const Linear& fc1, const Linear& fc2, const tg::Tensor& x) {
  return tg::sigmoid(fc2(tg::relu(fc1(x))));
}

tg::Tensor mse(const tg::Tensor& prediction, const tg::Tensor& target) {
  tg::Tensor error = prediction - target;
  return tg::mean(error * error);
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 1000;
  tg::Generator gen(0);

  // The problem: 256 points in 10-D; targets are a fixed smooth function of them in (0, 1).
  tg::Tensor x = tg::normal({256, 10}, 0.0, 1.0, tg::float32, &gen);
  tg::Tensor mixing = tg::normal({10, 10}, 0.0, 0.6, tg::float32, &gen);
  tg::Tensor target = tg::sigmoid(tg::matmul(tg::tanh(x), mixing));

  Linear fc1(10, 20, gen), fc2(20, 10, gen);

  // Prove the model's gradients before trusting them (float64 copies, a small batch).
  tg::GradcheckResult check = tg::gradcheck(
      [&](const std::vector<tg::Tensor>& p) {
        tg::Tensor h = tg::relu(tg::matmul(p[0], tg::transpose(p[1], 0, 1)) + p[2]);
        return mse(tg::sigmoid(tg::matmul(h, tg::transpose(p[3], 0, 1)) + p[4]), p[5]);
      },
      {tg::narrow(x, 0, 0, 8), fc1.weight, fc1.bias, fc2.weight, fc2.bias, tg::narrow(target, 0, 0, 8)});
  std::printf("gradcheck of the network's gradients: %s\n", check.ok ? "passed" : check.message.c_str());
  if (!check.ok) return 1;

  const double learning_rate = 2.0;
  double first = 0, last = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    tg::Tensor loss = mse(forward(fc1, fc2, x), target);
    for (tg::Tensor* p : {&fc1.weight, &fc1.bias, &fc2.weight, &fc2.bias}) p->zero_grad();
    loss.backward();
    {
      tg::NoGradGuard no_grad;  // the update itself is not part of the model
      for (tg::Tensor* p : {&fc1.weight, &fc1.bias, &fc2.weight, &fc2.bias}) p->add_(p->grad(), -learning_rate);
    }
    last = loss.item();
    if (epoch == 0) first = last;
    if (epoch % 100 == 0 || epoch == epochs - 1) std::printf("epoch %4d  loss %.6f\n", epoch, last);
  }
  std::printf("loss fell from %.6f to %.6f over %d epochs (tape entries left: %zu)\n", first, last, epochs,
              tg::tape_stats().entries);
  return last < first ? 0 : 1;
}
