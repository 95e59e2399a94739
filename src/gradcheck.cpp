// gradcheck: the analytic Jacobian (from the tape) against central differences, in float64.
#include "tapegrad/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "internal.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tape.hpp"

namespace tapegrad {

std::ostream& operator<<(std::ostream& out, const GradcheckResult& r) {
  return out << r.check << (r.ok ? " passed" : " failed") << (r.message.empty() ? "" : ": ") << r.message;
}

namespace {

std::string number(double v) {
  std::ostringstream s;
  s << std::setprecision(8) << v;
  return s.str();
}

std::string unravel(std::int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return to_string(index);
}

// Outputs of f as float64 value vectors (non-floating outputs give empty vectors: not checked).
std::vector<std::vector<double>> values_of(const std::vector<Tensor>& ys) {
  std::vector<std::vector<double>> out;
  for (const auto& y : ys) {
    if (!y.defined() || !is_floating(y.dtype())) out.emplace_back();
    else out.push_back(y.detach().to(float64).to_vector<double>());
  }
  return out;
}

struct Worst {
  double ratio = -1;  // error / allowed
  std::string text;
};

struct Checker {
  const TensorFunction& f;
  const GradcheckOptions& o;
  std::vector<Tensor> xs;         // float64 leaf copies
  std::vector<std::size_t> diff;  // positions of the inputs that require grad
  std::vector<std::string> notes;

  std::vector<std::vector<double>> evaluate() {
    NoGradGuard no_grad;
    return values_of(f(xs));
  }

  // Rows of the analytic Jacobian: one vector of input gradients per output element.
  // Returns jac[output][element][k] (k over diff inputs) as flat float64 vectors.
  std::vector<std::vector<std::vector<std::vector<double>>>> analytic(const std::vector<Tensor>& ys) {
    std::vector<Tensor> wrt;
    for (auto i : diff) wrt.push_back(xs[i]);
    std::vector<std::vector<std::vector<std::vector<double>>>> jac(ys.size());
    for (std::size_t o_i = 0; o_i < ys.size(); ++o_i) {
      const Tensor& y = ys[o_i];
      if (!y.defined() || !is_floating(y.dtype())) continue;
      for (std::int64_t m = 0; m < y.numel(); ++m) {
        std::vector<std::vector<double>> row;
        if (!y.requires_grad()) {
          for (const auto& x : wrt) row.emplace_back(static_cast<std::size_t>(x.numel()), 0.0);
        } else {
          Tensor onehot = zeros(y.shape(), y.dtype());
          detail::dispatch_floating(y.dtype(), [&]<class T>() { onehot.data<T>()[m] = T(1); });
          auto gs = grad({y}, wrt, {onehot}, /*retain_graph=*/true);
          for (const auto& g : gs) row.push_back(g.to(float64).to_vector<double>());
        }
        jac[o_i].push_back(std::move(row));
      }
    }
    return jac;
  }

  GradcheckResult full() {
    GradcheckResult result;
    std::vector<Tensor> ys;
    decltype(analytic(ys)) first, second;
    {
      TapeScope scope;
      ys = f(xs);
      first = analytic(ys);
      if (o.check_reentrant) second = analytic(ys);
    }
    if (o.check_reentrant && first != second) {
      result.message = "backward is not reentrant: two runs through the same graph gave different gradients";
      return result;
    }
    Worst worst;
    bool failed = false;
    for (std::size_t k = 0; k < diff.size(); ++k) {
      Tensor& x = xs[diff[k]];
      double* p = x.data<double>();
      for (std::int64_t e = 0; e < x.numel(); ++e) {
        const double saved = p[e];
        p[e] = saved + o.eps;
        auto plus = evaluate();
        p[e] = saved - o.eps;
        auto minus = evaluate();
        p[e] = saved;
        for (std::size_t o_i = 0; o_i < plus.size(); ++o_i) {
          for (std::size_t m = 0; m < plus[o_i].size(); ++m) {
            // Identical values (also two equal infinities) mean no change, not inf - inf.
            const double numeric = plus[o_i][m] == minus[o_i][m] ? 0.0 : (plus[o_i][m] - minus[o_i][m]) / (2 * o.eps);
            const double analytic_value = first[o_i][m][k][static_cast<std::size_t>(e)];
            const double error = std::abs(analytic_value - numeric);
            const double allowed = o.atol + o.rtol * std::abs(numeric);
            ++result.elements_checked;
            const double ratio = std::isfinite(error) ? error / allowed : INFINITY;
            if (!(error <= allowed)) failed = true;
            if (ratio > worst.ratio || (std::isnan(error) && worst.ratio != INFINITY)) {
              worst.ratio = std::isnan(error) ? INFINITY : ratio;
              worst.text = "output " + std::to_string(o_i) + " element " + unravel(static_cast<std::int64_t>(m), ys[o_i].shape()) +
                           " with respect to input " + std::to_string(diff[k]) + " at index " +
                           unravel(e, x.shape()) + ": analytic " + number(analytic_value) + ", numeric " +
                           number(numeric) + ", abs error " + number(error) + ", rel error " +
                           number(error / std::max(std::abs(numeric), 1e-300)) + " (allowed " + number(o.atol) +
                           " + " + number(o.rtol) + " * |numeric|)";
            }
          }
        }
      }
    }
    result.ok = !failed;
    if (failed) result.message = "Jacobian mismatch, worst element: " + worst.text;
    return result;
  }

  GradcheckResult fast() {
    GradcheckResult result;
    Generator gen(o.seed);
    std::vector<Tensor> us;
    for (auto i : diff) us.push_back(normal(xs[i].shape(), 0.0, 1.0, float64, &gen));
    std::vector<Tensor> ys;
    std::vector<Tensor> vs;
    double analytic_value = 0, analytic_again = 0;
    {
      TapeScope scope;
      ys = f(xs);
      std::vector<Tensor> outs, weights;
      for (const auto& y : ys) {
        if (!y.defined() || !is_floating(y.dtype())) { vs.emplace_back(); continue; }
        vs.push_back(normal(y.shape(), 0.0, 1.0, float64, &gen));
        if (y.requires_grad()) {
          outs.push_back(y);
          weights.push_back(vs.back().to(y.dtype()));
        }
      }
      std::vector<Tensor> wrt;
      for (auto i : diff) wrt.push_back(xs[i]);
      auto contract = [&] {
        double total = 0;
        if (outs.empty()) return total;
        auto gs = grad(outs, wrt, weights, /*retain_graph=*/true);
        NoGradGuard no_grad;
        for (std::size_t k = 0; k < gs.size(); ++k) total += sum(gs[k].to(float64) * us[k]).item();
        return total;
      };
      analytic_value = contract();
      if (o.check_reentrant) analytic_again = contract();
    }
    if (o.check_reentrant && analytic_value != analytic_again) {
      result.message = "backward is not reentrant: two runs through the same graph gave different gradients";
      return result;
    }
    auto shifted = [&](double sign) {
      std::vector<Tensor> saved = xs;
      for (std::size_t k = 0; k < diff.size(); ++k) {
        NoGradGuard no_grad;
        xs[diff[k]] = saved[diff[k]] + us[k] * (sign * o.eps);
      }
      auto values = evaluate();
      xs = saved;
      return values;
    };
    auto plus = shifted(1.0), minus = shifted(-1.0);
    double numeric = 0;
    for (std::size_t o_i = 0; o_i < plus.size(); ++o_i) {
      if (plus[o_i].empty()) continue;
      std::vector<double> v = vs[o_i].to_vector<double>();
      for (std::size_t m = 0; m < plus[o_i].size(); ++m)
        if (plus[o_i][m] != minus[o_i][m]) numeric += v[m] * (plus[o_i][m] - minus[o_i][m]) / (2 * o.eps);
    }
    const double error = std::abs(analytic_value - numeric);
    const double allowed = o.atol + o.rtol * std::abs(numeric);
    result.elements_checked = 1;
    result.ok = error <= allowed;
    if (!result.ok)
      result.message = "fast mode: vᵀJu mismatch: analytic " + number(analytic_value) + ", numeric " + number(numeric) +
                       ", abs error " + number(error) + " (allowed " + number(o.atol) + " + " + number(o.rtol) +
                       " * |numeric|)";
    return result;
  }
};

}  // namespace

namespace {
void check_options(std::string_view op, const GradcheckOptions& o, const std::source_location& at) {
  if (!(o.eps > 0 && std::isfinite(o.eps)))
    detail::fail<ValueError>(op, "eps must be positive and finite", "eps " + number(o.eps), at);
  if (!(o.atol >= 0 && std::isfinite(o.atol) && o.rtol >= 0 && std::isfinite(o.rtol)))
    detail::fail<ValueError>(op, "atol and rtol must be non-negative and finite",
                             "atol " + number(o.atol) + ", rtol " + number(o.rtol), at);
}
}  // namespace

GradcheckResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options, std::source_location at) {
  check_options("gradcheck", options, at);
  Checker c{f, options, {}, {}, {}};
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !is_floating(x.dtype())) {
      c.xs.push_back(x);
      continue;
    }
    Tensor copy = x.detach().to(float64).clone();
    if (x.dtype() == float32) c.notes.push_back("input " + std::to_string(i) + " promoted from float32 to float64");
    if (x.requires_grad()) {
      copy.requires_grad_();
      c.diff.push_back(i);
    }
    c.xs.push_back(copy);
  }
  // Like torch.autograd.gradcheck: a check of nothing would pass vacuously or hide a forgotten mark.
  if (c.diff.empty())
    detail::fail<ValueError>("gradcheck", "at least one floating input must require grad (requires_grad_())",
                             std::to_string(inputs.size()) + " inputs, none requiring grad", at);
  GradcheckResult result = options.fast_mode ? c.fast() : c.full();
  for (const auto& note : c.notes) result.message += (result.message.empty() ? "" : "; ") + note;
  if (!result.ok && options.raise_exception)
    detail::fail<GraphError>("gradcheck", "analytic and numeric gradients must agree", result.message, at);
  return result;
}

GradcheckResult gradgradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options, std::source_location at) {
  check_options("gradgradcheck", options, at);
  const std::size_t n = inputs.size();
  std::vector<bool> wanted(n);
  std::vector<Tensor> copies;
  for (std::size_t i = 0; i < n; ++i) {
    const Tensor& x = inputs[i];
    const bool floating = x.defined() && is_floating(x.dtype());
    wanted[i] = floating && x.requires_grad();
    copies.push_back(floating ? x.detach().to(float64) : x);
  }
  if (std::find(wanted.begin(), wanted.end(), true) == wanted.end())
    detail::fail<ValueError>("gradgradcheck", "at least one floating input must require grad (requires_grad_())",
                             std::to_string(n) + " inputs, none requiring grad", at);
  // One random weight per floating output, its shape from a first call.
  std::vector<Tensor> ys;
  {
    NoGradGuard no_grad;
    ys = f(copies);
  }
  Generator gen(options.seed + 0x9e3779b97f4a7c15ULL);
  std::vector<Tensor> all = inputs;
  std::vector<std::size_t> weight_of(ys.size(), 0);  // output -> position in `all` (0: none)
  for (std::size_t k = 0; k < ys.size(); ++k) {
    if (!ys[k].defined() || !is_floating(ys[k].dtype())) continue;
    weight_of[k] = all.size();
    all.push_back(normal(ys[k].shape(), 0.0, 1.0, float64, &gen).requires_grad_());
  }
  TensorFunction first_order = [f, n, wanted, weight_of](const std::vector<Tensor>& args) {
    EnableGradGuard enable;  // gradcheck evaluates under NoGradGuard; this function must record
    std::vector<Tensor> xs(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<Tensor> outs, weights, wrt;
    std::vector<Tensor> values = f(xs);
    for (std::size_t k = 0; k < values.size() && k < weight_of.size(); ++k)
      if (weight_of[k] && values[k].requires_grad()) {
        outs.push_back(values[k]);
        weights.push_back(args[weight_of[k]].to(values[k].dtype()));
      }
    for (std::size_t i = 0; i < n; ++i)
      if (wanted[i]) wrt.push_back(xs[i]);
    if (outs.empty()) {
      std::vector<Tensor> none;
      for (const auto& x : wrt) none.push_back(zeros_like(x));
      return none;
    }
    return grad(outs, wrt, weights, /*retain_graph=*/true, /*create_graph=*/true);
  };
  GradcheckOptions inner = options;
  inner.raise_exception = false;
  GradcheckResult result = gradcheck(first_order, all, inner, at);
  result.check = "gradgradcheck";
  if (!result.ok) result.message = "second order: " + result.message;
  if (!result.ok && options.raise_exception)
    detail::fail<GraphError>("gradgradcheck", "analytic and numeric second derivatives must agree", result.message, at);
  return result;
}

}  // namespace tapegrad
