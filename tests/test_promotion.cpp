// Type promotion (Note [Type promotion] in src/internal.hpp) walked over every binary op and
// operator, every pair of operand kinds (tensor, 0-d tensor, integral and fractional scalar) and
// dtypes, against the dtype and values PyTorch gives (tests/fixtures/make_promotion.py).
#include <algorithm>
#include <cmath>
#include <string>

#include "helpers.hpp"
#include "op_functions.hpp"
#include "kernels/formulas.hpp"

using namespace tapegrad;
namespace k = tapegrad::kernels;

namespace {

struct PromotionRow {
  std::string_view op;
  char kind_a;
  std::string_view dtype_a;
  char kind_b;
  std::string_view dtype_b;
  std::string_view result;  // a dtype name, or "bool" for comparisons
  std::vector<double> values;
};
#include "fixtures/promotion_torch.inc"

// The operand values make_promotion.py uses.
DType dtype_named(std::string_view name) {
  return name == "float32" ? float32 : name == "float64" ? float64 : int64;
}
Tensor tensor_operand(char kind, std::string_view dtype_name_) {
  const DType dtype = dtype_named(dtype_name_);
  if (kind == 't') return dtype == int64 ? from_vector<std::int64_t>({3, -2}, {2}) : from_vector<double>({3.5, -2.25}, {2}).to(dtype);
  return full({}, dtype == int64 ? 2.0 : 1.5, dtype);
}
double scalar_operand(char kind) { return kind == 'i' ? 2.0 : 2.5; }

// The function behind each op, and where (condition [1, 0]) beside them.
Tensor tensor_op(std::string_view op, const Tensor& a, const Tensor& b) {
  if (op == "where") return where(from_vector<std::int64_t>({1, 0}, {2}), a, b);
  return test::binary_functions().at(op)(a, b);
}// The forms that take a double: the operators on either side, and pow's exponent.
Tensor with_scalar_right(std::string_view op, const Tensor& a, double b) {
  if (op == "add") return a + b;
  if (op == "sub") return a - b;
  if (op == "mul") return a * b;
  if (op == "div") return a / b;
  return pow(a, b);
}
Tensor with_scalar_left(std::string_view op, double a, const Tensor& b) {
  if (op == "add") return a + b;
  if (op == "sub") return a - b;
  if (op == "mul") return a * b;
  return a / b;
}

bool is_scalar(char kind) { return kind == 'i' || kind == 'f'; }

}  // namespace

TEST_CASE("every binary op and operator promotes dtypes like PyTorch, on tensors, 0-d tensors and scalars") {
  // every op of the list has rows (a new op must be added to make_promotion.py)
  std::vector<std::string_view> names;
  test::for_each_op<k::binary_ops>([&]<class Op>(int) { names.push_back(Op::name); });
  for (std::string_view name : names) {
    auto rows = std::count_if(promotion_rows.begin(), promotion_rows.end(), [&](const PromotionRow& r) { return r.op == name; });
    CHECK_MESSAGE(rows >= 36, "no promotion rows for " << name << ": rerun tests/fixtures/make_promotion.py");
  }
  std::size_t checked = 0, refused = 0;
  for (const PromotionRow& row : promotion_rows) {
    INFO(row.op << "(" << row.kind_a << " " << row.dtype_a << ", " << row.kind_b << " " << row.dtype_b << ") -> "
                << row.result);
    auto run = [&] {
      if (is_scalar(row.kind_b)) return with_scalar_right(row.op, tensor_operand(row.kind_a, row.dtype_a), scalar_operand(row.kind_b));
      if (is_scalar(row.kind_a)) return with_scalar_left(row.op, scalar_operand(row.kind_a), tensor_operand(row.kind_b, row.dtype_b));
      return tensor_op(row.op, tensor_operand(row.kind_a, row.dtype_a), tensor_operand(row.kind_b, row.dtype_b));
    };
    // Deliberate differences from torch: comparisons give 0/1 as int64 (torch: bool); int64 to an
    // integral power, which torch computes in int64, is refused (no integer pow kernel).
    if (row.op == "pow" && row.result == "int64") {
      ++refused;
      try {
        run();
        FAIL("expected a DTypeError");
      } catch (const DTypeError& e) {
        CHECK(std::string(e.what()).find("int64 tensor and ") != std::string::npos);  // names what was passed
      }
      continue;
    }
    Tensor y = run();
    ++checked;
    CHECK(dtype_name(y.dtype()) == (row.result == "bool" ? "int64" : row.result));
    const double tol = y.dtype() == float32 ? 1e-6 : 1e-12;
    std::vector<double> values = y.to(float64).to_vector<double>();
    REQUIRE(values.size() == row.values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (std::isnan(row.values[i])) CHECK(std::isnan(values[i]));
      else CHECK(values[i] == doctest::Approx(row.values[i]).epsilon(tol));
    }
  }
  MESSAGE(checked << " promotion rows checked against torch, " << refused << " refused as documented");
}

TEST_CASE("promotion examples from the issue, and dtype errors name what was passed") {
  CHECK((full({2}, 3, int64) * 2.5).dtype() == float32);
  test::check_close(full({2}, 3, int64) * 2.5, {7.5, 7.5});
  CHECK((full({2}, 3, int64) * 2.0).dtype() == int64);
  CHECK((full({2}, 3, int64) / 2.0).dtype() == float32);
  test::check_close(full({2}, 3, int64) / 2.0, {1.5, 1.5});
  CHECK((full({2}, 3, int64) / full({2}, 2, int64)).dtype() == float32);
  CHECK((full({2}, 1, float32) + 0.1).dtype() == float32);
  CHECK((full({2}, 1, float32) + scalar(0.5, float64)).dtype() == float32);
  CHECK((full({2}, 1, int64) + scalar(0.5, float32)).dtype() == float32);
  CHECK((full({2}, 1, int64) + scalar(0.5, float64)).dtype() == float64);
  try {
    pow(full({2}, 3, int64), 2.0);
    FAIL("expected a DTypeError");
  } catch (const DTypeError& e) {
    CHECK(std::string(e.what()).find("int64 tensor and scalar 2") != std::string::npos);
    CHECK(std::string(e.what()).find("test_promotion.cpp") != std::string::npos);
  }
  // gradients come back in each input's own dtype
  Tensor a = full({2}, 1.0, float32), b = scalar(2.0, float64);
  a.requires_grad_();
  b.requires_grad_();
  sum(a * b).backward();
  CHECK(a.grad().dtype() == float32);
  CHECK(b.grad().dtype() == float64);
}
