// The index kernels (Note [Deterministic scatter] in src/kernels/index.hpp): index_select, gather and
// their scatter-add backwards, above the serial threshold and with repeated indices, give the same
// bits with 1, 2 and 4 threads, and match a float64 reference.
#include <cmath>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "helpers.hpp"
#include "kernels/index.hpp"
#include "parallel.hpp"

using namespace tapegrad;

namespace {

// Runs f at 1, 2 and 4 threads and checks the float32 results are bitwise equal; returns the first.
std::vector<std::vector<float>> same_bits_at_any_thread_count(const std::function<std::vector<Tensor>()>& f) {
  const int threads = get_num_threads();
  std::vector<std::vector<std::vector<float>>> runs;
  for (int n : {1, 2, 4}) {
    set_num_threads(n);
    std::vector<std::vector<float>> values;
    for (const Tensor& t : f()) values.push_back(t.contiguous().to_vector<float>());
    runs.push_back(values);
  }
  set_num_threads(threads);
  for (std::size_t run = 1; run < runs.size(); ++run) {
    REQUIRE(runs[run].size() == runs[0].size());
    for (std::size_t i = 0; i < runs[0].size(); ++i) {
      INFO("result " << i << ", run " << run);
      REQUIRE(runs[run][i].size() == runs[0][i].size());
      CHECK(std::memcmp(runs[run][i].data(), runs[0][i].data(), runs[0][i].size() * sizeof(float)) == 0);
    }
  }
  return runs[0];
}

void check_close(const std::vector<float>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(actual[i] - expected[i]) <= 1e-5 * (1 + std::abs(expected[i])));
  }
}

}  // namespace

TEST_CASE("index_select and its backward: same bits at 1, 2 and 4 threads, repeated rows, either axis") {
  Generator gen(5);
  for (std::int64_t axis : {0, 1}) {
    INFO("axis " << axis);
    // x [700, 96] (or [96, 700]); 2,000 rows drawn from 700 repeat most of them about three times.
    const Shape x_shape = axis == 0 ? Shape{700, 96} : Shape{96, 700};
    Tensor x = normal(x_shape, 0.0, 1.0, float32, &gen);
    Tensor rows = randint(0, 700, {2000}, &gen);
    Shape y_shape = x_shape;
    y_shape[static_cast<std::size_t>(axis)] = 2000;
    Tensor gy = normal(y_shape, 0.0, 1.0, float32, &gen);
    REQUIRE(gy.numel() > parallel::serial_threshold);
    auto results = same_bits_at_any_thread_count([&] {
      Tensor leaf = x.detach();
      leaf.requires_grad_();
      Tensor y = index_select(leaf, axis, rows);
      y.backward(gy);
      return std::vector<Tensor>{y, leaf.grad()};
    });
    // float64 references
    const auto r = rows.to_vector<std::int64_t>();
    const auto xv = x.to(float64).to_vector<double>(), gv = gy.to(float64).to_vector<double>();
    const auto gv32 = gy.to_vector<float>();
    std::vector<double> y_ref(static_cast<std::size_t>(gy.numel())), gx_ref(xv.size(), 0.0);
    std::vector<float> gx_serial(xv.size(), 0.0f);  // float32 in index order: the exact bits
    for (std::int64_t i = 0; i < 2000; ++i) {
      for (std::int64_t j = 0; j < 96; ++j) {
        const auto at_y = static_cast<std::size_t>(axis == 0 ? i * 96 + j : j * 2000 + i);
        const auto at_x = static_cast<std::size_t>(axis == 0 ? r[static_cast<std::size_t>(i)] * 96 + j
                                                             : j * 700 + r[static_cast<std::size_t>(i)]);
        y_ref[at_y] = xv[at_x];
        gx_ref[at_x] += gv[at_y];
        gx_serial[at_x] += gv32[at_y];
      }
    }
    check_close(results[0], y_ref);
    check_close(results[1], gx_ref);
    CHECK(std::memcmp(results[1].data(), gx_serial.data(), gx_serial.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("gather and its backward: same bits at 1, 2 and 4 threads, repeated indices, strided input") {
  Generator gen(6);
  // (axis, index shape): many lines; and few lines (3), each split into ranges of targets.
  const std::vector<std::pair<std::int64_t, Shape>> cases = {{0, {900, 150}}, {1, {250, 600}}, {0, {12000, 3}}};
  for (const auto& [axis, index_shape] : cases) {
    INFO("axis " << axis << ", index " << to_string(index_shape));
    // x [300, 200], seen through a transpose (strided); the index is larger than x along the axis,
    // so every target receives several gradients.
    Tensor x_t = normal({200, 300}, 0.0, 1.0, float32, &gen);
    Tensor x = transpose(x_t, 0, 1);
    Tensor index = randint(0, axis == 0 ? 300 : 200, index_shape, &gen);
    Tensor gy = normal(index_shape, 0.0, 1.0, float32, &gen);
    REQUIRE(gy.numel() > parallel::serial_threshold);
    auto results = same_bits_at_any_thread_count([&] {
      Tensor leaf = x_t.detach();
      leaf.requires_grad_();
      Tensor y = gather(transpose(leaf, 0, 1), axis, index);
      y.backward(gy);
      return std::vector<Tensor>{y, leaf.grad()};
    });
    const auto idx = index.to_vector<std::int64_t>();
    const auto xv = x.contiguous().to(float64).to_vector<double>(), gv = gy.to(float64).to_vector<double>();
    std::vector<double> y_ref(idx.size()), gx_ref(xv.size(), 0.0);  // gx in x's [300, 200] layout
    for (std::int64_t i = 0; i < index_shape[0]; ++i) {
      for (std::int64_t j = 0; j < index_shape[1]; ++j) {
        const auto at = static_cast<std::size_t>(i * index_shape[1] + j);
        const std::int64_t row = axis == 0 ? idx[at] : i, column = axis == 0 ? j : idx[at];
        y_ref[at] = xv[static_cast<std::size_t>(row * 200 + column)];
        gx_ref[static_cast<std::size_t>(row * 200 + column)] += gv[at];
      }
    }
    check_close(results[0], y_ref);
    // leaf.grad() is [200, 300]: the transpose of gx
    std::vector<double> gx_t(gx_ref.size());
    for (std::size_t row = 0; row < 300; ++row)
      for (std::size_t column = 0; column < 200; ++column)
        gx_t[column * 300 + row] = gx_ref[row * 200 + column];
    check_close(results[1], gx_t);
  }
}

TEST_CASE("index_add and scatter_add kernels: a 1-D problem with every index repeated, any thread count") {
  Generator gen(7);
  // 100,000 values into 1,000 slots: about 100 additions per slot, in index order.
  Tensor src = normal({100000}, 0.0, 1.0, float32, &gen);
  std::vector<std::int64_t> index = randint(0, 1000, {100000}, &gen).to_vector<std::int64_t>();
  auto results = same_bits_at_any_thread_count([&] {
    return std::vector<Tensor>{kernels::index_add({1000}, 0, index, src),
                               kernels::scatter_add({1000}, 0, index, src)};
  });
  // In index order, as a serial float32 loop adds them: the exact bits.
  std::vector<float> serial(1000, 0.0f);
  const auto values = src.to_vector<float>();
  for (std::size_t i = 0; i < index.size(); ++i) serial[static_cast<std::size_t>(index[i])] += values[i];
  CHECK(std::memcmp(results[0].data(), serial.data(), serial.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(results[1].data(), serial.data(), serial.size() * sizeof(float)) == 0);
}
