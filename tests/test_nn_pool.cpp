// The pooling layers (include/tapegrad/nn/pool.hpp): rows of the layer table, torch's printing, the
// module forward against the op, and the bad-input rows of their constructors.
#include <memory>
#include <sstream>

#include "bad_input.hpp"
#include "layer_table.hpp"

using namespace tapegrad;

namespace {

template <class M, class... Args>
std::function<std::unique_ptr<nn::Module>()> make(Args... args) {
  return [=] { return std::make_unique<M>(args...); };
}

// Calls a max-pooling layer through forward_with_indices and returns the values.
template <class M>
std::vector<Tensor> with_indices(nn::Module& m, const std::vector<Tensor>& xs) {
  return {static_cast<M&>(m).forward_with_indices(xs[0]).values};
}

// clang-format off
void pool_layers(std::vector<test::LayerInfo>& rows) {
  using namespace nn;
  rows.push_back({"MaxPool2d(2)", make<MaxPool2d>(2), {{2, 3, 6, 4}}, {}, {}, {}});
  rows.push_back({"MaxPool2d((3, 2), (2, 1), (1, 0), (2, 1), ceil_mode=true) unbatched",
                  make<MaxPool2d>(PoolSize2{3, 2}, PoolSize2{2, 1}, PoolSize2{1, 0}, PoolSize2{2, 1}, false, true), {{2, 7, 5}}, {}, {}, {}});
  rows.push_back({"MaxPool2d(3, 2, 1, return_indices=true) through forward_with_indices",
                  make<MaxPool2d>(3, 2, 1, 1, true), {{1, 2, 6, 5}}, {}, with_indices<MaxPool2d>, {}});
  rows.push_back({"MaxPool1d(3, 2, 1, ceil_mode=true)", make<MaxPool1d>(3, 2, 1, 1, false, true), {{2, 3, 8}}, {}, {}, {}});
  rows.push_back({"MaxPool1d(2, return_indices=true) through forward_with_indices", make<MaxPool1d>(2, std::nullopt, 0, 1, true),
                  {{3, 6}}, {}, with_indices<MaxPool1d>, {}});
  rows.push_back({"AvgPool2d(3, 2, 1, ceil_mode=true, count_include_pad=false)", make<AvgPool2d>(3, 2, 1, true, false), {{2, 2, 7, 6}}, {}, {}, {}});
  rows.push_back({"AvgPool2d((3, 2), divisor_override=4) unbatched", make<AvgPool2d>(PoolSize2{3, 2}, PoolSize2{}, 0, false, true, 4),
                  {{2, 6, 5}}, {}, {}, {}});
  rows.push_back({"AvgPool1d(3, 2, 1)", make<AvgPool1d>(3, 2, 1), {{2, 2, 7}}, {}, {}, {}});
  rows.push_back({"AdaptiveAvgPool2d((3, 4))", make<AdaptiveAvgPool2d>(PoolSize2{3, 4}), {{2, 2, 7, 6}}, {}, {}, {}});
  rows.push_back({"AdaptiveAvgPool2d(1) (global average)", make<AdaptiveAvgPool2d>(1), {{2, 3, 4, 5}}, {}, {}, {}});
  rows.push_back({"AdaptiveAvgPool1d(3)", make<AdaptiveAvgPool1d>(3), {{2, 2, 7}}, {}, {}, {}});
  rows.push_back({"AdaptiveMaxPool2d((2, 3), return_indices=true) through forward_with_indices",
                  make<AdaptiveMaxPool2d>(PoolSize2{2, 3}, true), {{2, 2, 5, 7}}, {}, with_indices<AdaptiveMaxPool2d>, {}});
  rows.push_back({"Sequential(MaxPool2d(2), AdaptiveAvgPool2d(1), Flatten)",
                  [] { return std::make_unique<Sequential>(MaxPool2d(2), AdaptiveAvgPool2d(1), Flatten()); }, {{2, 3, 6, 6}}, {}, {}, {}});
}
// clang-format on
test::LayerRows rows(&pool_layers);

std::string printed(const nn::Module& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

}  // namespace

TEST_CASE("pooling layers print like torch.nn's (booleans as C++ spells them)") {
  using namespace nn;
  // torch: print(nn.MaxPool2d(2)), ... (Python's True/False become true/false).
  CHECK(printed(MaxPool1d(3)) == "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=false)");
  CHECK(printed(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false)");
  CHECK(printed(MaxPool2d({3, 2}, {2, 1}, {1, 0}, {2, 1}, true, true)) ==
        "MaxPool2d(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1), ceil_mode=true)");
  CHECK(printed(AvgPool1d(3, 2, 1)) == "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))");
  CHECK(printed(AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(printed(AvgPool2d({3, 2}, {1, 2}, 1, true, false, 5)) == "AvgPool2d(kernel_size=(3, 2), stride=(1, 2), padding=1)");
  CHECK(printed(AdaptiveAvgPool2d(PoolSize2{3, 4})) == "AdaptiveAvgPool2d(output_size=(3, 4))");
  CHECK(printed(AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(printed(AdaptiveAvgPool1d(3)) == "AdaptiveAvgPool1d(output_size=3)");
  CHECK(printed(AdaptiveMaxPool2d(2, true)) == "AdaptiveMaxPool2d(output_size=2)");
}

TEST_CASE("a pooling layer computes its op, and errors at forward name the layer's caller") {
  Tensor x = test::sample({2, 3, 7, 6});
  nn::MaxPool2d pool(3, 2, 1, 1, true, true);
  CHECK(pool(x).to_vector<double>() == max_pool2d(x, 3, 2, 1, 1, true).to_vector<double>());
  auto [values, indices] = pool.forward_with_indices(x);
  auto [op_values, op_indices] = max_pool2d_with_indices(x, 3, 2, 1, 1, true);
  CHECK(values.to_vector<double>() == op_values.to_vector<double>());
  CHECK(indices.to_vector<std::int64_t>() == op_indices.to_vector<std::int64_t>());
  nn::AvgPool2d avg(3, 1, 1, false, false, 7);
  CHECK(avg(x).to_vector<double>() == avg_pool2d(x, 3, 1, 1, false, false, 7).to_vector<double>());
  const std::string message = test::message_of<ShapeError>([&] { nn::MaxPool2d(5)(zeros({1, 1, 4, 4})); });
  CHECK(message.find("max_pool2d") == 0);
  CHECK(message.find("test_nn_pool.cpp") != std::string::npos);
}

namespace bad_input {
namespace {

// clang-format off
void nn_pool_rows(Catalogue& row) {
  using namespace nn;
  row("nn::MaxPool1d::MaxPool1d", [] { MaxPool1d(0); }, Expect::value, "MaxPool1d");
  row("nn::MaxPool1d::MaxPool1d", [] { MaxPool1d(2, 1, 2); }, Expect::value, "MaxPool1d");  // padding over half the kernel
  row("nn::MaxPool1d::forward", [] { MaxPool1d(2)(ints()); }, Expect::dtype, "max_pool1d");
  row("nn::MaxPool1d::forward_with_indices", [] { MaxPool1d(9).forward_with_indices(zeros({1, 2, 4})); }, Expect::shape, "max_pool1d_with_indices");
  row("nn::MaxPool2d::MaxPool2d", [] { MaxPool2d(PoolSize2{2, 0}); }, Expect::value, "MaxPool2d");
  row("nn::MaxPool2d::MaxPool2d", [] { MaxPool2d(2, -1); }, Expect::value, "MaxPool2d");
  row("nn::MaxPool2d::MaxPool2d", [] { MaxPool2d(2, 1, 0, 0); }, Expect::value, "MaxPool2d");
  row("nn::MaxPool2d::MaxPool2d", [] { MaxPool2d(PoolSize2{}); }, Expect::value, "MaxPool2d");
  row("nn::MaxPool2d::forward", [] { MaxPool2d(2)(zeros({4, 4})); }, Expect::shape, "max_pool2d");
  row("nn::MaxPool2d::forward_with_indices", [] { MaxPool2d(2).forward_with_indices(undef()); }, Expect::value, "max_pool2d_with_indices");
  row("nn::AvgPool1d::AvgPool1d", [] { AvgPool1d(3, 0); }, Expect::value, "AvgPool1d");
  row("nn::AvgPool1d::forward", [] { AvgPool1d(2)(zeros({1, 0})); }, Expect::shape, "avg_pool1d");
  row("nn::AvgPool2d::AvgPool2d", [] { AvgPool2d(3, 1, -1); }, Expect::value, "AvgPool2d");
  row("nn::AvgPool2d::AvgPool2d", [] { AvgPool2d(2, {}, 0, false, true, 0); }, Expect::value, "AvgPool2d");
  row("nn::AvgPool2d::forward", [] { AvgPool2d(2)(zeros({1, 1, 4, 4}, int64)); }, Expect::dtype, "avg_pool2d");
  row("nn::AdaptiveAvgPool2d::AdaptiveAvgPool2d", [] { AdaptiveAvgPool2d(PoolSize2{2, -1}); }, Expect::value, "AdaptiveAvgPool2d");
  row("nn::AdaptiveAvgPool2d::AdaptiveAvgPool2d", [] { AdaptiveAvgPool2d(PoolSize2{}); }, Expect::value, "AdaptiveAvgPool2d");
  row("nn::AdaptiveAvgPool2d::forward", [] { AdaptiveAvgPool2d(2)(zeros({1, 1, 0, 3})); }, Expect::shape, "adaptive_avg_pool2d");
  row("nn::AdaptiveAvgPool1d::AdaptiveAvgPool1d", [] { AdaptiveAvgPool1d(-1); }, Expect::value, "AdaptiveAvgPool1d");
  row("nn::AdaptiveAvgPool1d::forward", [] { AdaptiveAvgPool1d(2)(zeros({2, 2, 2, 2})); }, Expect::shape, "adaptive_avg_pool1d");
  row("nn::AdaptiveMaxPool2d::AdaptiveMaxPool2d", [] { AdaptiveMaxPool2d(-3); }, Expect::value, "AdaptiveMaxPool2d");
  row("nn::AdaptiveMaxPool2d::forward", [] { AdaptiveMaxPool2d(2)(ints()); }, Expect::dtype, "adaptive_max_pool2d");
  row("nn::AdaptiveMaxPool2d::forward_with_indices", [] { AdaptiveMaxPool2d(2).forward_with_indices(zeros({3})); }, Expect::shape, "adaptive_max_pool2d_with_indices");
  for (const char* name : {"nn::MaxPool1d::extra_repr", "nn::MaxPool2d::extra_repr", "nn::AvgPool1d::extra_repr", "nn::AvgPool2d::extra_repr",
                           "nn::AdaptiveAvgPool2d::extra_repr", "nn::AdaptiveAvgPool1d::extra_repr", "nn::AdaptiveMaxPool2d::extra_repr"})
    row.exempt(name, "printing: no input");
}
// clang-format on

Rows rows(&nn_pool_rows);

}  // namespace
}  // namespace bad_input
