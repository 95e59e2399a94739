// StateDict: insertion order, unique names, typed errors naming the caller's line.
#include "bad_input.hpp"

using namespace tapegrad;

TEST_CASE("a StateDict keeps insertion order, refuses duplicates and finds by name") {
  StateDict d{{"fc1.weight", zeros({2, 3})}, {"fc1.bias", zeros({2})}};
  d.insert("fc2.weight", ones({1, 2}));
  CHECK(d.keys() == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight"});
  CHECK(d.find("fc1.bias")->shape() == Shape{2});
  CHECK(d.find("nope") == nullptr);
  d.set("fc1.bias", ones({5}));
  CHECK(d.at("fc1.bias").shape() == Shape{5});
  CHECK(d.size() == 3);
  CHECK(d.erase("fc1.weight"));
  CHECK_FALSE(d.erase("fc1.weight"));
  CHECK(d.keys() == std::vector<std::string>{"fc1.bias", "fc2.weight"});
}

namespace bad_input {
namespace {

void state_dict_rows(Catalogue& row) {
  row("StateDict::StateDict", [] { StateDict d{{"a", f23()}, {"a", f23()}}; }, Expect::value, "StateDict::insert");
  row("StateDict::insert", [] { StateDict d; d.insert("a", undef()); }, Expect::value, "StateDict::insert");
  row("StateDict::set", [] { StateDict d; d.set("a", undef()); }, Expect::value, "StateDict::set");
  row("StateDict::at", [] { StateDict{}.at("missing"); }, Expect::value, "StateDict::at");
  for (const char* name : {"find", "contains", "erase", "size", "empty", "keys", "begin", "end", "items"})
    row.exempt(std::string("StateDict::") + name, "lookups and views: a missing name is null / false / absent");
}

Rows rows(&state_dict_rows);

}  // namespace
}  // namespace bad_input

TEST_CASE("a StateDict finds names by its index after erase and set") {
  StateDict d{{"a", zeros({1})}, {"b", zeros({2})}, {"c", zeros({3})}};
  CHECK(d.erase("a"));
  d.set("b", zeros({4}));
  d.set("d", zeros({5}));
  CHECK(d.keys() == std::vector<std::string>{"b", "c", "d"});
  CHECK(d.at("b").shape() == Shape{4});
  CHECK(d.at("c").shape() == Shape{3});
  CHECK(d.at("d").shape() == Shape{5});
  CHECK(d.erase("c"));
  CHECK(d.at("d").shape() == Shape{5});
  CHECK_THROWS_AS(d.insert("d", zeros({1})), ValueError);
}
