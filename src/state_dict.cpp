// StateDict: a vector in insertion order. State dicts hold tens to hundreds of names and are read
// once per load, so a linear find is simpler than an index beside the vector and as fast in practice.
#include "tapegrad/state_dict.hpp"

#include <algorithm>

#include "internal.hpp"

namespace tapegrad {

StateDict::StateDict(std::initializer_list<Item> items, Here at) {
  for (const auto& [name, tensor] : items) insert(name, tensor, at);
}

void StateDict::insert(std::string name, Tensor tensor, Here at) {
  if (find(name)) detail::fail<ValueError>("StateDict::insert", "names must be unique", "'" + name + "' twice", at);
  if (!tensor.defined())
    detail::fail<ValueError>("StateDict::insert", "the tensor must be defined", "undefined for '" + name + "'", at);
  items_.emplace_back(std::move(name), std::move(tensor));
}

void StateDict::set(std::string name, Tensor tensor, Here at) {
  if (!tensor.defined())
    detail::fail<ValueError>("StateDict::set", "the tensor must be defined", "undefined for '" + name + "'", at);
  auto it = std::find_if(items_.begin(), items_.end(), [&](const Item& item) { return item.first == name; });
  if (it != items_.end())
    it->second = std::move(tensor);
  else
    items_.emplace_back(std::move(name), std::move(tensor));
}

const Tensor* StateDict::find(const std::string& name) const {
  for (const auto& item : items_)
    if (item.first == name) return &item.second;
  return nullptr;
}

const Tensor& StateDict::at(const std::string& name, Here at) const {
  if (const Tensor* t = find(name)) return *t;
  detail::fail<ValueError>("StateDict::at", "the key must be present", "no '" + name + "'", at);
}

bool StateDict::erase(const std::string& name) {
  auto it = std::find_if(items_.begin(), items_.end(), [&](const Item& item) { return item.first == name; });
  if (it == items_.end()) return false;
  items_.erase(it);
  return true;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> names;
  names.reserve(items_.size());
  for (const auto& item : items_) names.push_back(item.first);
  return names;
}

}  // namespace tapegrad
