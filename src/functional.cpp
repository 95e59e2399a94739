// vjp, jvp and hvp (include/tapegrad/functional.hpp): each a backward, or two, with create_graph.
#include "tapegrad/functional.hpp"

#include "internal.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tapegrad {

namespace {

// Fresh leaves holding the inputs' values (so .grad() of the caller's tensors is never touched),
// requiring grad when floating.
std::vector<Tensor> fresh_inputs(std::string_view op, const std::vector<Tensor>& inputs, const std::source_location& at) {
  if (inputs.empty()) detail::fail<ValueError>(op, "at least one input is needed", "no inputs", at);
  std::vector<Tensor> xs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    detail::require_defined(op, inputs[i], at);
    if (!is_floating(inputs[i].dtype()))
      detail::fail<DTypeError>(op, "every input must be floating", "input " + std::to_string(i) + ": " +
                               detail::describe(inputs[i]), at);
    xs.push_back(inputs[i].detach().requires_grad_());
  }
  return xs;
}

void require_matching(std::string_view op, std::string_view what, const std::vector<Tensor>& v,
                      const std::vector<Tensor>& like, const std::source_location& at) {
  if (v.size() != like.size())
    detail::fail<ValueError>(op, "v must hold one tensor per " + std::string(what),
                             std::to_string(v.size()) + " tensors for " + std::to_string(like.size()), at);
  for (std::size_t i = 0; i < v.size(); ++i) {
    detail::require_defined(op, v[i], at);
    if (v[i].shape() != like[i].shape())
      detail::fail<ShapeError>(op, "each v must have the shape of its " + std::string(what),
                               to_string(v[i].shape()) + " for " + to_string(like[i].shape()), at);
  }
}

std::vector<Tensor> outputs_of(std::string_view op, const TensorFunction& f, const std::vector<Tensor>& xs,
                               const std::source_location& at) {
  std::vector<Tensor> ys;
  {
    EnableGradGuard enable;
    ys = f(xs);
  }
  if (ys.empty()) detail::fail<ValueError>(op, "the function must return at least one tensor", "none", at);
  for (std::size_t k = 0; k < ys.size(); ++k) detail::require_defined(op, ys[k], at);
  return ys;
}

// The outputs that depend on the inputs, and their weights.
void differentiable(const std::vector<Tensor>& ys, const std::vector<Tensor>& v, std::vector<Tensor>& outs,
                    std::vector<Tensor>& weights) {
  for (std::size_t k = 0; k < ys.size(); ++k)
    if (ys[k].requires_grad()) {
      outs.push_back(ys[k]);
      weights.push_back(v.empty() ? Tensor() : v[k]);
    }
}

std::vector<Tensor> detached(const std::vector<Tensor>& ts, bool keep) {
  if (keep) return ts;
  std::vector<Tensor> out;
  for (const auto& t : ts) out.push_back(t.detach());
  return out;
}

std::vector<Tensor> zeros_for(const std::vector<Tensor>& xs) {
  std::vector<Tensor> out;
  for (const auto& x : xs) out.push_back(zeros_like(x));
  return out;
}

// The second backward of jvp and hvp: d(sum_i <gs[i], v[i]>)/d(wrt), over the gs that depend on
// anything (the others contribute zero).
std::vector<Tensor> weighted_grad(const std::vector<Tensor>& gs, const std::vector<Tensor>& v,
                                  const std::vector<Tensor>& wrt, bool create_graph, const std::source_location& at) {
  std::vector<Tensor> outs, weights;
  for (std::size_t i = 0; i < gs.size(); ++i)
    if (gs[i].requires_grad()) {
      outs.push_back(gs[i]);
      weights.push_back(v[i]);
    }
  return outs.empty() ? zeros_for(wrt) : grad(outs, wrt, weights, create_graph, create_graph, at);
}

}  // namespace

FunctionalResult vjp(const TensorFunction& f, const std::vector<Tensor>& inputs, const std::vector<Tensor>& v,
                     bool create_graph, std::source_location at) {
  detail::OpScope scope("vjp", at);
  std::vector<Tensor> xs = fresh_inputs("vjp", inputs, at);
  std::vector<Tensor> ys = outputs_of("vjp", f, xs, at);
  if (!v.empty()) require_matching("vjp", "output", v, ys, at);
  else if (ys.size() != 1 || ys[0].numel() != 1)
    detail::fail<ValueError>("vjp", "v may be omitted only when the function returns one scalar",
                             std::to_string(ys.size()) + " outputs, the first of shape " + to_string(ys[0].shape()), at);
  std::vector<Tensor> outs, weights;
  differentiable(ys, v, outs, weights);
  if (!v.empty() && weights.size() != outs.size()) weights.clear();
  EnableGradGuard enable;
  std::vector<Tensor> product =
      outs.empty() ? zeros_for(xs) : grad(outs, xs, v.empty() ? std::vector<Tensor>{} : weights, create_graph, create_graph, at);
  return {detached(ys, create_graph), detached(product, create_graph)};
}

FunctionalResult jvp(const TensorFunction& f, const std::vector<Tensor>& inputs, const std::vector<Tensor>& v,
                     bool create_graph, std::source_location at) {
  detail::OpScope scope("jvp", at);
  std::vector<Tensor> xs = fresh_inputs("jvp", inputs, at);
  require_matching("jvp", "input", v, xs, at);
  std::vector<Tensor> ys = outputs_of("jvp", f, xs, at);
  EnableGradGuard enable;
  // u -> uᵀ J is linear in u; its vjp with weight v is J v.
  std::vector<Tensor> outs, us;
  for (const auto& y : ys)
    if (y.requires_grad()) {
      outs.push_back(y);
      us.push_back(zeros_like(y).requires_grad_());
    }
  std::vector<Tensor> product;
  if (outs.empty()) {
    for (const auto& y : ys) product.push_back(zeros_like(y));
  } else {
    std::vector<Tensor> ujs = grad(outs, xs, us, /*retain_graph=*/true, /*create_graph=*/true, at);
    std::vector<Tensor> jv = weighted_grad(ujs, v, us, create_graph, at);
    std::size_t next = 0;
    for (const auto& y : ys) product.push_back(y.requires_grad() ? jv[next++] : zeros_like(y));
  }
  return {detached(ys, create_graph), detached(product, create_graph)};
}

FunctionalResult hvp(const TensorFunction& f, const std::vector<Tensor>& inputs, const std::vector<Tensor>& v,
                     bool create_graph, std::source_location at) {
  detail::OpScope scope("hvp", at);
  std::vector<Tensor> xs = fresh_inputs("hvp", inputs, at);
  require_matching("hvp", "input", v, xs, at);
  std::vector<Tensor> ys = outputs_of("hvp", f, xs, at);
  if (ys.size() != 1 || ys[0].numel() != 1)
    detail::fail<ValueError>("hvp", "the function must return one scalar",
                             std::to_string(ys.size()) + " outputs, the first of shape " + to_string(ys[0].shape()), at);
  EnableGradGuard enable;
  std::vector<Tensor> product;
  if (!ys[0].requires_grad()) {
    product = zeros_for(xs);
  } else {
    std::vector<Tensor> gs = grad({ys[0]}, xs, {}, /*retain_graph=*/true, /*create_graph=*/true, at);
    product = weighted_grad(gs, v, xs, create_graph, at);
  }
  return {detached(ys, create_graph), detached(product, create_graph)};
}

}  // namespace tapegrad
