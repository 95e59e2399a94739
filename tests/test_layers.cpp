// Note [Layer table]
// Every layer configuration is a row of layer_table() (layer_table.hpp), added from its area's file.
// For each row this file checks, in float64, the gradients with respect to the inputs and to every
// parameter (gradcheck and gradgradcheck through nn::functional_call, which stands the checked
// tensors in for the module's parameters), the state_dict keys and shapes against PyTorch's, that
// load_state_dict(state_dict()) gives the same outputs bitwise, and that the module prints.
#include <sstream>

#include "layer_table.hpp"

namespace test {

std::vector<LayerInfo>& layer_table() {
  static std::vector<LayerInfo> rows;
  return rows;
}

namespace {

std::vector<Tensor> sample_inputs(const LayerInfo& row) {
  if (row.inputs) return row.inputs();
  std::vector<Tensor> xs;
  for (const Shape& shape : row.input_shapes) xs.push_back(sample(shape));
  return xs;
}

std::vector<Tensor> call(const LayerInfo& row, nn::Module& m, const std::vector<Tensor>& xs) {
  if (row.call) return row.call(m, xs);
  return {m(xs.at(0))};
}

std::unique_ptr<nn::Module> make64(const LayerInfo& row) {
  auto m = row.make();
  m->to(float64);
  m->train(row.training);
  return m;
}

// The function gradcheck sees: inputs first, then the parameters, stood in for the module's own.
struct LayerFunction {
  const LayerInfo* row;
  nn::Module* module;
  std::vector<std::string> names;
  std::size_t n_inputs;
  std::vector<Tensor> operator()(const std::vector<Tensor>& args) const {
    StateDict substitutes;
    for (std::size_t k = 0; k < names.size(); ++k) substitutes.insert(names[k], args[n_inputs + k]);
    std::vector<Tensor> xs(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n_inputs));
    return nn::functional_call(*module, substitutes, [&] { return call(*row, *module, xs); });
  }
};

}  // namespace

TEST_CASE("every layer is gradchecked and gradgradchecked in float64, inputs and parameters") {
  REQUIRE(!layer_table().empty());
  for (const LayerInfo& row : layer_table()) {
    INFO(row.name);
    auto m = make64(row);
    std::vector<Tensor> args = sample_inputs(row);
    const std::size_t n_inputs = args.size();
    LayerFunction f{&row, m.get(), {}, n_inputs};
    for (auto& [name, p] : m->named_parameters()) {
      f.names.push_back(name);
      args.push_back(p.detach().clone().requires_grad_());
    }
    GradcheckResult first = gradcheck(TensorFunction(f), args, row.options);
    CHECK_MESSAGE(first.ok, first);
    if (row.second_order) {
      GradcheckResult second = gradgradcheck(TensorFunction(f), args, row.options);
      CHECK_MESSAGE(second.ok, second);
    }
  }
}

TEST_CASE("every layer has PyTorch's state_dict keys and shapes, and a state_dict round trip is exact") {
  for (const LayerInfo& row : layer_table()) {
    INFO(row.name);
    auto a = make64(row);
    StateDict state = a->state_dict();
    if (!row.state.empty()) {
      std::vector<std::pair<std::string, Shape>> got;
      for (const auto& [name, t] : state) got.emplace_back(name, t.shape());
      CHECK(got == row.state);
    }
    // A second module, drawn from another seed, becomes the first by loading its state.
    manual_seed(987654321);
    auto b = make64(row);
    b->load_state_dict(state);
    std::vector<Tensor> xs = sample_inputs(row);
    NoGradGuard no_grad;
    std::vector<Tensor> ya = call(row, *a, xs), yb = call(row, *b, xs);
    REQUIRE(ya.size() == yb.size());
    for (std::size_t k = 0; k < ya.size(); ++k)
      CHECK(ya[k].to_vector<double>() == yb[k].to_vector<double>());
    std::ostringstream printed;
    printed << *a;
    CHECK(printed.str().starts_with(a->type_name() + "("));
  }
}

}  // namespace test
