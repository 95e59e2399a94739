// The normalisation layers: rows of the layer table (gradcheck and gradgradcheck in float64, PyTorch's
// state_dict keys, round trip, printing), PyTorch fixtures for BatchNorm's training steps, running
// statistics and evaluation (tests/data/make_norm.py), printing, and the bad-input rows.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "bad_input.hpp"
#include "layer_table.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

template <class Layer, class... Args>
std::function<std::unique_ptr<nn::Module>()> make(Args... args) {
  return [=] { return std::make_unique<Layer>(args...); };
}

void norm_layers(std::vector<test::LayerInfo>& rows) {
  const std::vector<std::pair<std::string, Shape>> batch_norm_state = {{"weight", {3}},
                                                                       {"bias", {3}},
                                                                       {"running_mean", {3}},
                                                                       {"running_var", {3}},
                                                                       {"num_batches_tracked", {}}};
  rows.push_back({"BatchNorm1d(3) training on [5, 3]", make<nn::BatchNorm1d>(3), {{5, 3}}, {}, {}, batch_norm_state});
  rows.push_back({"BatchNorm1d(2, affine=false) training on [3, 2, 4]",
                  make<nn::BatchNorm1d>(2, 1e-5, 0.1, false),
                  {{3, 2, 4}},
                  {},
                  {},
                  {{"running_mean", {2}}, {"running_var", {2}}, {"num_batches_tracked", {}}}});
  rows.push_back({"BatchNorm2d(3, momentum=none) training on [2, 3, 2, 2]",
                  make<nn::BatchNorm2d>(3, 1e-5, std::nullopt), {{2, 3, 2, 2}}, {}, {}, batch_norm_state});
  rows.push_back({"BatchNorm2d(3) evaluation on [2, 3, 2, 3]", make<nn::BatchNorm2d>(3), {{2, 3, 2, 3}}, {}, {},
                  batch_norm_state, false});
  rows.push_back({"BatchNorm1d(2, track_running_stats=false) evaluation on [4, 2]",
                  make<nn::BatchNorm1d>(2, 1e-5, 0.1, true, false),
                  {{4, 2}},
                  {},
                  {},
                  {{"weight", {2}}, {"bias", {2}}},
                  false});
  rows.push_back({"LayerNorm({3, 4}) on [2, 3, 4]", make<nn::LayerNorm>(Shape{3, 4}), {{2, 3, 4}}, {}, {},
                  {{"weight", {3, 4}}, {"bias", {3, 4}}}});
  rows.push_back({"LayerNorm(4, elementwise_affine=false) on [3, 4]", make<nn::LayerNorm>(std::int64_t{4}, 1e-5, false),
                  {{3, 4}}, {}, {}, {}});
  rows.push_back({"GroupNorm(2, 4) on [2, 4, 3]", make<nn::GroupNorm>(2, 4), {{2, 4, 3}}, {}, {},
                  {{"weight", {4}}, {"bias", {4}}}});
  rows.push_back({"GroupNorm(3, 3, affine=false) on [2, 3, 2, 2]", make<nn::GroupNorm>(3, 3, 1e-5, false),
                  {{2, 3, 2, 2}}, {}, {}, {}});
}
test::LayerRows rows(&norm_layers);

fs::path module_fixtures() { return fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "norm_modules"; }

void check_matches(const std::string& what, const Tensor& actual, const Tensor& expected) {
  INFO(what);
  REQUIRE(actual.shape() == expected.shape());
  std::vector<double> a = actual.detach().to(float64).to_vector<double>();
  std::vector<double> e = expected.to(float64).to_vector<double>();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - e[i]) <= 1e-12 * (1.0 + std::abs(e[i])));
}

}  // namespace

TEST_CASE("BatchNorm layers match PyTorch: training steps, running statistics (momentum None too), evaluation") {
  std::size_t cases = 0;
  for (const auto& entry : fs::directory_iterator(module_fixtures())) {
    const fs::path dir = entry.path();
    INFO("case " << dir.filename().string());
    auto load = [&](const std::string& name) { return load_npy(dir / (name + ".npy")); };
    const std::vector<double> args = load("args").to_vector<double>();
    const std::optional<double> momentum = std::isnan(args[0]) ? std::nullopt : std::optional<double>(args[0]);
    const Tensor x0 = load("x0");
    const std::int64_t features = x0.shape()[1];
    std::unique_ptr<nn::BatchNorm> layer;
    if (x0.dim() == 4) layer = std::make_unique<nn::BatchNorm2d>(features, args[1], momentum, true, args[2] != 0);
    else layer = std::make_unique<nn::BatchNorm1d>(features, args[1], momentum, true, args[2] != 0);
    layer->to(float64);
    {
      NoGradGuard no_grad;
      layer->weight.copy_(load("weight"));
      layer->bias.copy_(load("bias"));
    }
    Tensor y;
    for (const char* batch : {"x0", "x1", "x2"})
      if (fs::exists(dir / (std::string(batch) + ".npy"))) y = (*layer)(load(batch));
    check_matches("y_train", y, load("y_train"));
    layer->eval();
    check_matches("y_eval", (*layer)(load("x_eval")), load("y_eval"));
    if (layer->track_running_stats) {
      check_matches("running_mean", layer->running_mean, load("running_mean_after"));
      check_matches("running_var", layer->running_var, load("running_var_after"));
      CHECK(layer->num_batches_tracked.item<std::int64_t>() == load("num_batches_tracked_after").item<std::int64_t>());
    }
    ++cases;
  }
  CHECK(cases == 4);
}

TEST_CASE("normalisation layers print like PyTorch's and reset to PyTorch's defaults") {
  auto printed = [](const nn::Module& m) {
    std::ostringstream out;
    out << m;
    return out.str();
  };
  CHECK(printed(nn::BatchNorm2d(32)) == "BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  CHECK(printed(nn::BatchNorm1d(3, 1e-3, std::nullopt, false, false)) ==
        "BatchNorm1d(3, eps=0.001, momentum=none, affine=false, track_running_stats=false)");
  CHECK(printed(nn::LayerNorm(Shape{3, 4})) == "LayerNorm([3, 4], eps=1e-05, elementwise_affine=true)");
  CHECK(printed(nn::GroupNorm(2, 4, 1e-5, false)) == "GroupNorm(2, 4, eps=1e-05, affine=false)");
  nn::BatchNorm1d layer(2);
  layer(tensor({{1.0, 2.0}, {3.0, 7.0}}));
  CHECK(layer.num_batches_tracked.item<std::int64_t>() == 1);
  test::check_close(layer.running_var, {1.1, 2.15});  // 0.9 + 0.1 * [2, 12.5] (unbiased)
  layer.reset_parameters();
  CHECK(layer.running_mean.to_vector<float>() == std::vector<float>{0, 0});
  CHECK(layer.running_var.to_vector<float>() == std::vector<float>{1, 1});
  CHECK(layer.num_batches_tracked.item<std::int64_t>() == 0);
  CHECK(layer.weight.to_vector<float>() == std::vector<float>{1, 1});
  CHECK(layer.bias.to_vector<float>() == std::vector<float>{0, 0});
  // Evaluation leaves the buffers alone; without running statistics it uses the batch's.
  layer.eval();
  layer(tensor({{1.0, 2.0}, {3.0, 7.0}}));
  CHECK(layer.num_batches_tracked.item<std::int64_t>() == 0);
  nn::BatchNorm1d untracked(2, 1e-5, 0.1, true, false);
  untracked.eval();
  CHECK(untracked(tensor({{1.0, 2.0}, {3.0, 2.0}})).to_vector<float>()[0] == doctest::Approx(-1.0).epsilon(1e-4));
  CHECK(untracked.buffers().empty());
}

namespace bad_input {
namespace {

void norm_layer_rows(Catalogue& row) {
  row("nn::BatchNorm1d::BatchNorm1d", [] { nn::BatchNorm1d(-1); }, Expect::value, "BatchNorm1d");
  row("nn::BatchNorm2d::BatchNorm2d", [] { nn::BatchNorm2d(-3); }, Expect::value, "BatchNorm2d");
  row("nn::BatchNorm::forward", [] { nn::BatchNorm1d m(3); m(zeros({2, 3, 2, 2})); }, Expect::shape, "BatchNorm1d");  // torch: ValueError
  row("nn::BatchNorm::forward", [] { nn::BatchNorm2d m(3); m(zeros({2, 3, 2})); }, Expect::shape, "BatchNorm2d");
  row("nn::BatchNorm::forward", [] { nn::BatchNorm1d m(3, 1e-5, 0.1, false, false); m(zeros({2, 4})); }, Expect::shape, "BatchNorm1d");
  row("nn::BatchNorm::forward", [] { nn::BatchNorm1d m(3); m(zeros({1, 3})); }, Expect::value, "batch_norm");  // one value per channel
  row("nn::BatchNorm::forward", [] { nn::BatchNorm1d m(3); m(undef()); }, Expect::value, "BatchNorm1d");
  row("nn::BatchNorm::forward", [] { nn::BatchNorm1d m(3); m(zeros({2, 3}, int64)); }, Expect::dtype, "batch_norm");
  row("nn::LayerNorm::LayerNorm", [] { nn::LayerNorm(Shape{}); }, Expect::shape, "LayerNorm");
  row("nn::LayerNorm::LayerNorm", [] { nn::LayerNorm(-2); }, Expect::value, "LayerNorm");
  row("nn::LayerNorm::forward", [] { nn::LayerNorm m(4); m(zeros({2, 3})); }, Expect::shape, "layer_norm");
  row("nn::GroupNorm::GroupNorm", [] { nn::GroupNorm(3, 4); }, Expect::value, "GroupNorm");  // torch: ValueError
  row("nn::GroupNorm::GroupNorm", [] { nn::GroupNorm(0, 4); }, Expect::value, "GroupNorm");
  row("nn::GroupNorm::GroupNorm", [] { nn::GroupNorm(2, -4); }, Expect::value, "GroupNorm");
  row("nn::GroupNorm::forward", [] { nn::GroupNorm m(2, 4); m(zeros({2, 6, 3})); }, Expect::shape, "group_norm");
  for (const std::string layer : {"nn::BatchNorm", "nn::LayerNorm", "nn::GroupNorm"}) {
    row.exempt(layer + "::extra_repr", "prints the layer's options: no input");
    row.exempt(layer + "::reset_parameters", "refills the layer's own tensors: no input");
  }
  row.exempt("nn::BatchNorm::reset_running_stats", "refills the layer's own buffers: no input");
}

Rows rows(&norm_layer_rows);

}  // namespace
}  // namespace bad_input
