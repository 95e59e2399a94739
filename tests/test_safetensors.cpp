// safetensors files (include/tapegrad/io/safetensors.hpp): torch's files read, the reference writer's
// bytes written, bitwise round trips, atomic saves and checkpoints. The hostile files are in
// test_safetensors_hostile.cpp. The fixtures in tests/data/safetensors come from torch tensors
// (tests/data/safetensors/make_safetensors.py).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "bad_input.hpp"
#include "io_helpers.hpp"

using namespace tapegrad;
using namespace io_test;

namespace {

// The bits of each element (NaN payloads and signed zeros included), in C order.
std::vector<std::uint64_t> bits_of(const Tensor& t) {
  std::vector<std::uint64_t> out;
  if (t.dtype() == float32)
    for (float v : t.to_vector<float>()) out.push_back(std::bit_cast<std::uint32_t>(v));
  else if (t.dtype() == float64)
    for (double v : t.to_vector<double>()) out.push_back(std::bit_cast<std::uint64_t>(v));
  else
    for (std::int64_t v : t.to_vector<std::int64_t>()) out.push_back(static_cast<std::uint64_t>(v));
  return out;
}

void check_same(const StateDict& a, const StateDict& b) {
  REQUIRE(a.keys() == b.keys());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Tensor &x = a.items()[i].second, &y = b.items()[i].second;
    CHECK_MESSAGE(x.dtype() == y.dtype(), a.items()[i].first);
    CHECK_MESSAGE(x.shape() == y.shape(), a.items()[i].first);
    CHECK_MESSAGE(bits_of(x) == bits_of(y), a.items()[i].first);
  }
}

// Widened halves compare bit for bit, except that a NaN may come back quieted by torch's widening.
void check_widened(const Tensor& ours, const Tensor& torchs) {
  const auto a = ours.to_vector<float>(), b = torchs.to_vector<float>();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(b[i]))
      CHECK(std::isnan(a[i]));
    else
      CHECK_MESSAGE(std::bit_cast<std::uint32_t>(a[i]) == std::bit_cast<std::uint32_t>(b[i]), i);
  }
}

}  // namespace

TEST_CASE("load_safetensors reads torch's tensors of every dtype it reads, in the file's order") {
  const StateDict d = load_safetensors(safetensors_fixture("dtypes.safetensors"));
  // The reference writer orders by dtype (I64, F64, F32, BF16, F16), then by name; we keep the file's order.
  CHECK(d.keys() ==
        std::vector<std::string>{"i64", "f64", "bf16.as_f32", "empty", "f16.as_f32", "f32", "scalar", "bf16", "f16"});
  std::vector<float> f32;
  for (int i = 0; i < 6; ++i) f32.push_back((static_cast<float>(i) - 2.5f) / 4);
  CHECK(d.at("f32").shape() == Shape{2, 3});
  CHECK(d.at("f32").to_vector<float>() == f32);
  CHECK(d.at("f64").to_vector<double>() ==
        std::vector<double>{0.1, -1e300, 5e-324, std::numeric_limits<double>::infinity()});
  CHECK(d.at("i64").shape() == Shape{3, 1, 2});
  CHECK(d.at("i64").to_vector<std::int64_t>() == std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(),
                                                                           std::numeric_limits<std::int64_t>::max(), 0,
                                                                           -1, 7, std::int64_t{1} << 40});
  CHECK(d.at("scalar").shape().empty());
  CHECK(d.at("scalar").item() == 2.5);
  CHECK(d.at("empty").shape() == Shape{0, 3});
  // BF16 and F16 come back as float32, as torch's .float() widens them.
  for (const char* name : {"bf16", "f16"}) {
    CHECK(d.at(name).dtype() == float32);
    CHECK(d.at(name).shape() == d.at(std::string(name) + ".as_f32").shape());
    check_widened(d.at(name), d.at(std::string(name) + ".as_f32"));
  }
  // ... and against float64 arithmetic: the smallest subnormals, the largest finite values, -0.
  const auto bf16 = d.at("bf16").to_vector<float>();
  const auto f16 = d.at("f16").to_vector<float>();
  CHECK(static_cast<double>(bf16[4]) == std::ldexp(1.0, -133));
  CHECK(static_cast<double>(bf16[7]) == std::ldexp(255.0, 120));
  CHECK(std::signbit(bf16[1]));
  CHECK(static_cast<double>(f16[3]) == std::ldexp(1.0, -24));
  CHECK(static_cast<double>(f16[4]) == std::ldexp(1023.0, -24));
  CHECK(f16[6] == 65504.0f);
  CHECK(f16[8] == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(f16[10]));
  CHECK(load_safetensors_metadata(safetensors_fixture("dtypes.safetensors")) == SafetensorsMetadata{{"format", "pt"}});
  CHECK(load_safetensors_metadata(safetensors_fixture("other_dtypes.safetensors")).empty());
}

TEST_CASE("every F16 and BF16 value widens to float32 exactly") {
  // All 65536 bit patterns of each, against the formats' definitions computed in float64.
  std::string data;
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    data += static_cast<char>(bits & 0xff);
    data += static_cast<char>(bits >> 8);
  }
  const std::string header = "{" + entry("f16", "F16", "[65536]", "[0,131072]") + "," +
                             entry("bf16", "BF16", "[65536]", "[131072,262144]") + "}";
  const StateDict d = safetensors_from_bytes(file_of(header, data + data)).tensors;
  auto definition = [](std::uint32_t bits, int mantissa_bits, int bias) {
    const std::uint32_t exponent_mask = (1u << (15 - mantissa_bits)) - 1;
    const std::uint32_t exponent = bits >> mantissa_bits & exponent_mask, mantissa = bits & ((1u << mantissa_bits) - 1);
    const double sign = bits & 0x8000 ? -1.0 : 1.0;
    if (exponent == exponent_mask)
      return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
    if (exponent == 0) return sign * std::ldexp(static_cast<double>(mantissa), 1 - bias - mantissa_bits);
    return sign * std::ldexp(static_cast<double>(mantissa | 1u << mantissa_bits),
                             static_cast<int>(exponent) - bias - mantissa_bits);
  };
  for (const auto& [name, mantissa_bits, bias] : {std::tuple{"f16", 10, 15}, std::tuple{"bf16", 7, 127}}) {
    const std::vector<float> values = d.at(name).to_vector<float>();
    int wrong = 0;
    for (std::uint32_t bits = 0; bits < 65536; ++bits) {
      const double expected = definition(bits, mantissa_bits, bias);
      const float got = values[bits];
      const bool same = std::isnan(expected)
                            ? std::isnan(got) && std::signbit(got) == ((bits & 0x8000) != 0)
                            : static_cast<double>(got) == expected && std::signbit(got) == std::signbit(expected);
      wrong += !same;
    }
    CHECK_MESSAGE(wrong == 0, name);
  }
}

TEST_CASE("save_safetensors writes the bytes the reference writer writes") {
  Folder folder;
  // In the reference writer's order (dtype, then name), the bytes are the same.
  StateDict reference;
  reference.insert("steps", full({}, 7, int64));
  reference.insert("double", from_vector<double>({0.1, 0.2, 0.3, 0.4}, {2, 2}));
  reference.insert("fc.bias", from_vector<float>({1.5f, -2.0f}, {2}));
  std::vector<float> weight;
  for (int i = 0; i < 6; ++i) weight.push_back((static_cast<float>(i) - 2.5f) / 4);
  reference.insert("fc.weight", from_vector(weight, {2, 3}));
  reference.insert("nothing", zeros({2, 0}));
  save_safetensors(folder.path / "reference.safetensors", reference, {{"format", "pt"}});
  CHECK(bytes_of(folder.path / "reference.safetensors") == bytes_of(safetensors_fixture("reference.safetensors")));
  CHECK(safetensors_to_bytes(reference, {{"format", "pt"}}) == bytes_of(safetensors_fixture("reference.safetensors")));
  check_same(load_safetensors(safetensors_fixture("reference.safetensors")), reference);

  // Names JSON must escape, and unicode, in both directions.
  StateDict names;
  names.insert("back\\slash", full({1}, 2.0));
  names.insert("gr\u00fc\u00dfe \u4e16\u754c \U0001F600", full({1}, 4.0));
  names.insert("say \"hi\"", full({1}, 1.0));
  names.insert("tab\tnewline\n\x01", full({1}, 3.0));
  const SafetensorsMetadata note{{"note", "caf\u00e9 \"quoted\""}};
  CHECK(safetensors_to_bytes(names, note) == bytes_of(safetensors_fixture("names.safetensors")));
  check_same(load_safetensors(safetensors_fixture("names.safetensors")), names);
  CHECK(load_safetensors_metadata(safetensors_fixture("names.safetensors")) == note);

  // The reference's own tests (safetensors/src/tensor.rs test_empty): no tensors, with and without metadata.
  using bytes = std::vector<unsigned char>;
  auto as_bytes = [](const std::string& s) { return bytes(s.begin(), s.end()); };
  CHECK(as_bytes(safetensors_to_bytes({})) == bytes{8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32});
  CHECK(as_bytes(safetensors_to_bytes({}, {{"framework", "pt"}})) ==
        bytes{40,  0,   0,   0,  0,  0,  0,   0,   123, 34,  95,  95,  109, 101, 116, 97,
              100, 97,  116, 97, 95, 95, 34,  58,  123, 34,  102, 114, 97,  109, 101, 119,
              111, 114, 107, 34, 58, 34, 112, 116, 34,  125, 125, 32,  32,  32,  32,  32});
  save_safetensors(folder.path / "empty.safetensors", {});
  CHECK(load_safetensors(folder.path / "empty.safetensors").empty());
}

TEST_CASE("save_safetensors and load_safetensors round trip bit for bit") {
  Folder folder;
  std::mt19937_64 random(11);
  // Random bit patterns: NaNs with payloads, infinities, subnormals and -0 among them.
  auto random_tensor = [&](const Shape& shape, DType dtype) {
    std::int64_t n = 1;
    for (auto size : shape) n *= size;
    std::vector<float> f32;
    std::vector<double> f64;
    std::vector<std::int64_t> i64;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t r = random();
      f32.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(r)));
      f64.push_back(std::bit_cast<double>(r));
      i64.push_back(static_cast<std::int64_t>(r));
    }
    return dtype == float32   ? from_vector(f32, shape)
           : dtype == float64 ? from_vector(f64, shape)
                              : from_vector(i64, shape);
  };
  StateDict d;
  int count = 0;
  for (DType dtype : {float32, float64, int64})
    for (const Shape& shape : {Shape{}, Shape{1}, Shape{5}, Shape{3, 0}, Shape{0}, Shape{4, 7}, Shape{2, 3, 5}})
      d.insert("t" + std::to_string(count++), random_tensor(shape, dtype));
  // Views that are not contiguous are written in C order.
  const Tensor base = random_tensor({4, 6}, float64);
  d.insert("transposed", transpose(base, 0, 1));
  d.insert("every other", slice(base, 1, 0, 6, 2));
  d.insert("column", select(base, 1, 3));
  d.insert("broadcast", expand(random_tensor({1, 3}, int64), {4, 3}));
  d.insert("offset", narrow(random_tensor({10}, float32), 0, 3, 5));
  d.insert("grad leaf", test::sample({2, 2}));
  CHECK(!d.at("transposed").is_contiguous());

  save_safetensors(folder.path / "d.safetensors", d, {{"step", "3"}, {"", ""}});
  const StateDict back = load_safetensors(folder.path / "d.safetensors");
  check_same(back, d);
  CHECK(!back.at("grad leaf").requires_grad());
  CHECK(load_safetensors_metadata(folder.path / "d.safetensors") == SafetensorsMetadata{{"step", "3"}, {"", ""}});
  const std::string bytes = safetensors_to_bytes(d, {{"step", "3"}, {"", ""}});
  CHECK(bytes == bytes_of(folder.path / "d.safetensors"));
  const SafetensorsContents contents = safetensors_from_bytes(bytes);
  check_same(contents.tensors, d);
  CHECK(contents.metadata.at("step") == "3");
  // The header is padded to a multiple of 8 bytes, so the data starts aligned.
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
}

TEST_CASE("save_safetensors replaces a file whole, or leaves it as it was") {
  Folder folder;
  const fs::path target = folder.write("x.safetensors", "old contents");
  save_safetensors(target, {{"a", ones({3})}});
  CHECK(load_safetensors(target).at("a").to_vector<float>() == std::vector<float>{1, 1, 1});
  CHECK(folder.files() == 1);  // no temporary left
  const std::string saved = bytes_of(target);

  // A folder that does not exist, or a parent that is a file: IoError, and nothing appears.
  CHECK_THROWS_AS(save_safetensors(folder.path / "missing" / "x.safetensors", {}), IoError);
  CHECK_THROWS_AS(save_safetensors(target / "x.safetensors", {}), IoError);
  CHECK(!fs::exists(folder.path / "missing"));
  // Names the header cannot hold: refused before anything is written.
  CHECK_THROWS_AS(save_safetensors(target, {{"__metadata__", ones({1})}}), ValueError);
  CHECK_THROWS_AS(save_safetensors(target, {{"\xff", ones({1})}}), ValueError);
  CHECK_THROWS_AS(save_safetensors(target, {}, {{"k", "\xc0\xaf"}}), ValueError);
  CHECK(bytes_of(target) == saved);
  CHECK(folder.files() == 1);

  // A save that fails halfway (the file size limit hit while writing): the old file stays whole and
  // the temporary file goes. In a child process, so the limit and its signal stay there.
  const StateDict big{{"big", zeros({4096})}};  // made here: the child runs no parallel kernel after fork
  const pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{1000, 1000};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      save_safetensors(target, big);
    } catch (const IoError& e) {
      ::_exit(std::string(e.what()).find("written whole") != std::string::npos ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(bytes_of(target) == saved);
  CHECK(folder.files() == 1);
}

TEST_CASE("a checkpoint is one safetensors file: model, optimizer and step") {
  Folder folder;
  const StateDict model{{"fc1.weight", test::sample({3, 2})}, {"fc1.bias", zeros({3})}};
  const StateDict optimizer{{"state.0.exp_avg", full({3, 2}, 0.25, float64)}, {"state.0.step", full({}, 9, int64)}};
  const fs::path path = folder.path / "checkpoint.safetensors";
  save_checkpoint(path, model, optimizer, 1234567890123);
  const Checkpoint back = load_checkpoint(path);
  check_same(back.model, model);
  check_same(back.optimizer, optimizer);
  CHECK(back.step == 1234567890123);
  // An ordinary safetensors file underneath.
  CHECK(load_safetensors(path).keys() == std::vector<std::string>{"model.fc1.weight", "model.fc1.bias",
                                                                  "optimizer.state.0.exp_avg",
                                                                  "optimizer.state.0.step"});
  CHECK(load_safetensors_metadata(path).at("step") == "1234567890123");

  auto refusal = [&](const SafetensorsMetadata& metadata, const StateDict& tensors) {
    save_safetensors(folder.path / "other.safetensors", tensors, metadata);
    return test::message_of<IoError>([&] { load_checkpoint(folder.path / "other.safetensors"); });
  };
  CHECK(refusal({}, {}).find("got no 'step'") != std::string::npos);
  CHECK(refusal({{"step", "12x"}}, {}).find("got step '12x'") != std::string::npos);
  CHECK(refusal({{"step", "-1"}}, {}).find("integer >= 0") != std::string::npos);
  CHECK(refusal({{"step", "99999999999999999999"}}, {}).find("integer >= 0") != std::string::npos);
  CHECK(refusal({{"step", "1"}}, {{"fc.weight", ones({1})}}).find("got 'fc.weight'") != std::string::npos);
  save_checkpoint(path, {}, {}, 0);
  CHECK(load_checkpoint(path).model.empty());
}

namespace bad_input {
namespace {

// A row and its call stay on one line: the line the message must give.
// clang-format off
void safetensors_rows(Catalogue& row) {
  row("save_safetensors", [] { save_safetensors("/nonexistent/x.safetensors", {{"a", f23()}}); }, Expect::io, "save_safetensors");
  row("save_safetensors", [] { save_safetensors("/tmp", {}); }, Expect::io, "save_safetensors");  // a directory
  row("save_safetensors", [] { save_safetensors("/tmp/tapegrad-bad.safetensors", {{"__metadata__", f23()}}); }, Expect::value, "save_safetensors");
  row("save_safetensors", [] { save_safetensors("/tmp/tapegrad-bad.safetensors", {{"\xfe", f23()}}); }, Expect::value, "save_safetensors");
  row("save_safetensors", [] { save_safetensors("/tmp/tapegrad-bad.safetensors", {{"a", huge_view()}}); }, Expect::oom, "save_safetensors");
  row("safetensors_to_bytes", [] { safetensors_to_bytes({{"a", huge_view()}}); }, Expect::oom, "safetensors_to_bytes");
  row("load_safetensors", [] { load_safetensors("/nonexistent/x.safetensors"); }, Expect::io, "load_safetensors");
  row("load_safetensors", [] { load_safetensors("/"); }, Expect::io, "load_safetensors");
  row("load_safetensors", [] { load_safetensors(""); }, Expect::io, "load_safetensors");
  row("load_safetensors", [] { load_safetensors("/dev/zero"); }, Expect::io, "load_safetensors");  // not a regular file
  row("load_safetensors_metadata", [] { load_safetensors_metadata("/nonexistent/x"); }, Expect::io, "load_safetensors_metadata");
  row("safetensors_to_bytes", [] { safetensors_to_bytes({{"a", f23()}}, {{"\xff", "v"}}); }, Expect::value, "safetensors_to_bytes");
  row("safetensors_from_bytes", [] { safetensors_from_bytes(""); }, Expect::io, "safetensors_from_bytes");
  row("safetensors_from_bytes", [] { safetensors_from_bytes(std::string(8, '\xff')); }, Expect::io, "safetensors_from_bytes");
  row("save_checkpoint", [] { save_checkpoint("/tmp/tapegrad-bad.safetensors", {}, {}, -1); }, Expect::value, "save_checkpoint");
  row("save_checkpoint", [] { save_checkpoint("/nonexistent/x", {}, {}, 0); }, Expect::io, "save_checkpoint");
  row("load_checkpoint", [] { load_checkpoint("/nonexistent/x"); }, Expect::io, "load_checkpoint");
  row.unwalked("SafetensorsContents");
  row.unwalked("Checkpoint");
}
// clang-format on

Rows rows(&safetensors_rows);

}  // namespace
}  // namespace bad_input
