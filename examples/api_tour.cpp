// The README's API tour, compiled with the project so it stays true.
#include <iostream>
#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;

// A custom op, class form: y = x * sigmoid(x) (SiLU), with its own backward.
struct MySilu : Function<MySilu> {
  static constexpr const char* name = "my_silu";
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * sigmoid(x);
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& gy) {
    const Tensor& x = ctx.saved()[0];
    Tensor s = sigmoid(x);
    return {gy[0] * s * (1.0 + x * (1.0 - s))};
  }
};

int main() {
  // 1. Tensors: float32 by default, NumPy broadcasting, PyTorch-like printing.
  Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  Tensor b = arange(3.0);
  std::cout << a + b << "\n";

  // 2. Ops record on the tape when an input requires grad.
  Tensor w = randn({3, 2});
  w.requires_grad_();
  Tensor loss = mean(relu(matmul(a, w)));

  // 3. Backward fills .grad() of the leaves.
  loss.backward();
  std::cout << "dloss/dw = " << w.grad() << "\n";

  // 4. A custom function is used like any op...
  Tensor x = linspace(-2.0, 2.0, 5, float64);
  x.requires_grad_();
  std::cout << MySilu::apply(x) << "\n";

  // 5. ...and gradcheck proves its backward against central differences.
  GradcheckResult check = gradcheck([](const std::vector<Tensor>& in) { return MySilu::apply(in[0]); }, {x});
  std::cout << check << "\n";

  // 6. Gradients of gradients: create_graph records the backward pass, so a gradient penalty
  //    trains too, and gradgradcheck proves second derivatives.
  Tensor p = tensor({1.0, -2.0}, float64).requires_grad_();
  Tensor q = tensor({0.5, 0.5}, float64).requires_grad_();
  Tensor l = sum(q * p * p);
  Tensor dl_dp = grad({l}, {p}, {}, /*retain_graph=*/false, /*create_graph=*/true)[0];
  (l + sum(dl_dp * dl_dp)).backward();
  std::cout << "with the penalty, dl/dq = " << q.grad() << "\n";  // [5, 20], as PyTorch
  std::cout << gradgradcheck([](const std::vector<Tensor>& in) { return MySilu::apply(in[0]); }, {x}) << "\n";

  // Errors name the op, the rule, what was seen and your line.
  try {
    matmul(zeros({3, 4}), zeros({5, 2}));
  } catch (const ShapeError& e) {
    std::cout << e.what() << "\n";
  }

  // Anomaly mode names the op that made a NaN or an infinity, forward or backward, and your line.
  try {
    DetectAnomalyGuard anomaly;
    Tensor r = zeros({2}, float64);
    r.requires_grad_();
    sum(sqrt(r)).backward();  // sqrt(0) = 0 is fine; its gradient 1 / (2 sqrt(0)) is not
  } catch (const AnomalyError& e) {
    std::cout << e.what() << "\n";
  }
  return check ? 0 : 1;
}
