// Conv1d, Conv2d, ConvTranspose2d: rows of the layer table (gradcheck and gradgradcheck through the
// parameters, PyTorch's state_dict keys and shapes, the round trip), PyTorch's printing and default
// initialisation, and the bad-input rows of the constructors.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "bad_input.hpp"
#include "layer_table.hpp"

using namespace tapegrad;

namespace {

void conv_layers(std::vector<test::LayerInfo>& rows) {
  using test::LayerInfo;
  auto row = [&](std::string name, std::function<std::unique_ptr<nn::Module>()> make, Shape input,
                 std::vector<std::pair<std::string, Shape>> state) {
    LayerInfo info;
    info.name = std::move(name);
    info.make = std::move(make);
    info.input_shapes = {std::move(input)};
    info.state = std::move(state);
    rows.push_back(std::move(info));
  };
  row("Conv2d(3, 4, 3)", [] { return std::make_unique<nn::Conv2d>(3, 4, 3); }, {2, 3, 5, 5},
      {{"weight", {4, 3, 3, 3}}, {"bias", {4}}});
  row("Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2)",
      [] {
        return std::make_unique<nn::Conv2d>(4, 6, Spatial<2>{3, 2},
                                            Conv2dOptions{.stride = {2, 1}, .padding = 1, .dilation = {1, 2}, .groups = 2});
      },
      {2, 4, 6, 7}, {{"weight", {6, 2, 3, 2}}, {"bias", {6}}});
  row("Conv2d(2, 3, 4, padding='same', dilation=2, bias=false)",
      [] { return std::make_unique<nn::Conv2d>(2, 3, 4, Conv2dOptions{.padding = "same", .dilation = 2}, false); },
      {1, 2, 6, 5}, {{"weight", {3, 2, 4, 4}}});
  row("Conv2d(2, 2, 3, padding=1) unbatched", [] { return std::make_unique<nn::Conv2d>(2, 2, 3, Conv2dOptions{.padding = 1}); },
      {2, 4, 4}, {{"weight", {2, 2, 3, 3}}, {"bias", {2}}});
  row("Conv1d(4, 6, 3, stride=2, padding=1, groups=2)",
      [] { return std::make_unique<nn::Conv1d>(4, 6, 3, Conv1dOptions{.stride = 2, .padding = 1, .groups = 2}); },
      {2, 4, 9}, {{"weight", {6, 2, 3}}, {"bias", {6}}});
  row("Conv1d(2, 3, 4, padding='same')", [] { return std::make_unique<nn::Conv1d>(2, 3, 4, Conv1dOptions{.padding = "same"}); },
      {2, 7}, {{"weight", {3, 2, 4}}, {"bias", {3}}});
  row("ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)",
      [] {
        return std::make_unique<nn::ConvTranspose2d>(
            4, 6, 3, ConvTranspose2dOptions{.stride = 2, .padding = 1, .output_padding = 1, .groups = 2});
      },
      {2, 4, 3, 3}, {{"weight", {4, 3, 3, 3}}, {"bias", {6}}});
  row("ConvTranspose2d(2, 3, (2, 3), stride=(2, 1), dilation=2, bias=false)",
      [] {
        return std::make_unique<nn::ConvTranspose2d>(2, 3, Spatial<2>{2, 3},
                                                     ConvTranspose2dOptions{.stride = {2, 1}, .dilation = 2}, false);
      },
      {1, 2, 3, 3}, {{"weight", {2, 3, 2, 3}}});
}

test::LayerRows layer_rows(&conv_layers);

std::string printed(const nn::Module& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

}  // namespace

TEST_CASE("convolution layers print like PyTorch's (bias=false in C++ spelling)") {
  // Expected strings: print(nn.Conv2d(1, 32, 3, padding=1)) and so on, from torch 1.13.
  CHECK(printed(nn::Conv2d(1, 32, 3, {.padding = 1})) ==
        "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  CHECK(printed(nn::Conv2d(32, 32, {3, 1}, {.padding = "same", .dilation = {2, 1}, .groups = 32}, false)) ==
        "Conv2d(32, 32, kernel_size=(3, 1), stride=(1, 1), padding=same, dilation=(2, 1), groups=32, bias=false)");
  CHECK(printed(nn::Conv1d(4, 6, 3, {.stride = 2, .padding = 1, .dilation = 2, .groups = 2})) ==
        "Conv1d(4, 6, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2)");
  CHECK(printed(nn::ConvTranspose2d(4, 6, 3, {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2})) ==
        "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2)");
  CHECK(printed(nn::Conv2d(2, 3, 3, {.padding = "valid"})) == "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=valid)");
  CHECK(printed(nn::Conv1d(2, 3, 3, {.padding = "same"})) == "Conv1d(2, 3, kernel_size=(3,), stride=(1,), padding=same)");
}

TEST_CASE("convolution layers draw PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = weight.size(1) * kernel") {
  manual_seed(11);
  struct Case {
    std::unique_ptr<nn::Module> layer;
    double fan_in;
  };
  Case cases[] = {{std::make_unique<nn::Conv2d>(16, 32, 3), 16 * 9},
                  {std::make_unique<nn::Conv2d>(16, 32, 3, Conv2dOptions{.groups = 4}), 4 * 9},
                  {std::make_unique<nn::Conv1d>(8, 64, 5), 8 * 5},
                  // Transposed: weight [in, out / groups, k, k], so fan_in counts the output channels.
                  {std::make_unique<nn::ConvTranspose2d>(16, 32, 3), 32 * 9},
                  {std::make_unique<nn::ConvTranspose2d>(16, 32, 3, ConvTranspose2dOptions{.groups = 2}), 16 * 9}};
  for (Case& c : cases) {
    INFO(printed(*c.layer));
    const double bound = 1.0 / std::sqrt(c.fan_in);
    for (const auto& [name, p] : c.layer->named_parameters()) {
      INFO(name);
      const std::vector<float> values = p.to_vector<float>();
      double largest = 0.0, sum = 0.0, squares = 0.0;
      for (float v : values) {
        largest = std::max(largest, std::abs(double(v)));
        sum += v;
        squares += double(v) * v;
      }
      const double n = static_cast<double>(values.size());
      CHECK(largest <= bound);
      // U(-b, b): the largest of n draws lies near b; the variance is b² / 3.
      CHECK(largest >= bound * (1.0 - 8.0 / n));
      if (n >= 1000) {
        CHECK(std::abs(sum / n) <= 0.05 * bound);
        CHECK(squares / n == doctest::Approx(bound * bound / 3).epsilon(0.1));
      }
    }
  }
}

TEST_CASE("a Conv2d loaded with PyTorch's weights gives PyTorch's output (tests/data/conv, conv2d_basic)") {
  const std::filesystem::path folder = std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data" / "conv";
  nn::Conv2d conv(3, 4, 3, {.padding = 1});
  conv.to(float64);
  conv.load_state_dict({{"weight", load_npy(folder / "conv2d_basic_w.npy")}, {"bias", load_npy(folder / "conv2d_basic_b.npy")}});
  test::check_close(conv(load_npy(folder / "conv2d_basic_x.npy")), load_npy(folder / "conv2d_basic_y.npy").to_vector<double>(),
                    1e-12);
}

namespace bad_input {
namespace {

void nn_conv_rows(Catalogue& row) {
  using namespace nn;
  row("nn::ConvNd::ConvNd", [] { Conv2d(-1, 2, 3); }, Expect::value, "Conv2d");
  row("nn::ConvNd::ConvNd", [] { Conv2d(3, 2, 3, {.groups = 2}); }, Expect::value, "Conv2d");  // 3 % 2
  row("nn::ConvNd::ConvNd", [] { Conv2d(4, 3, 3, {.groups = 2}); }, Expect::value, "Conv2d");  // 3 % 2
  row("nn::ConvNd::ConvNd", [] { Conv2d(2, 2, 3, {.groups = 0}); }, Expect::value, "Conv2d");
  row("nn::ConvNd::ConvNd", [] { Conv2d(2, 2, {3, 0}); }, Expect::value, "Conv2d");
  row("nn::ConvNd::ConvNd", [] { Conv2d(2, 2, 3, {.padding = "full"}); }, Expect::value, "Conv2d");
  row("nn::ConvNd::ConvNd", [] { Conv2d(2, 2, 3, {.stride = 2, .padding = "same"}); }, Expect::value, "Conv2d");
  row("nn::ConvNd::ConvNd", [] { Conv2d(1LL << 40, 1LL << 40, 3); }, Expect::value, "Conv2d");  // the weight's numel overflows
  row("nn::Conv2d::forward", [] { Conv2d(2, 2, 3)(zeros({1, 3, 5, 5})); }, Expect::shape, "conv2d");
  row("nn::Conv2d::forward", [] { Conv2d(2, 2, 3, {.stride = -1})(zeros({1, 2, 5, 5})); }, Expect::value, "conv2d");
  row("nn::ConvNd::ConvNd", [] { Conv1d(2, -2, 3); }, Expect::value, "Conv1d");
  row("nn::ConvNd::ConvNd", [] { Conv1d(2, 2, 0); }, Expect::value, "Conv1d");
  row("nn::Conv1d::forward", [] { Conv1d(2, 2, 3)(zeros({1, 2, 5, 5})); }, Expect::shape, "conv1d");
  row("nn::ConvNd::ConvNd", [] { ConvTranspose2d(2, 3, 3, {.groups = 2}); }, Expect::value, "ConvTranspose2d");
  row("nn::ConvTranspose2d::forward", [] { ConvTranspose2d(2, 3, 3, {.stride = 2, .output_padding = 2})(zeros({1, 2, 3, 3})); }, Expect::value, "conv_transpose2d");
  row.outcome("nn::ConvNd::ConvNd", "zero input channels: an empty weight and a zero bias (PyTorch leaves it uninitialised), so zeros out", [] { Conv2d c(0, 2, 3); CHECK(c.weight.shape() == Shape{2, 0, 3, 3}); CHECK(c(zeros({1, 0, 3, 3})).to_vector<float>() == std::vector<float>{0, 0}); });
  for (const char* name : {"nn::ConvNd::reset_parameters", "nn::ConvNd::extra_repr"})
    row.exempt(name, "no input to check: drawing and printing a layer built checked");
}

Rows rows(&nn_conv_rows);

}  // namespace
}  // namespace bad_input
