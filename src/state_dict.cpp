// StateDict: a vector in insertion order, with an index of the names beside it. Models hold tens to
// hundreds of names, but a safetensors file may name millions of (empty) tensors: without the index,
// loading one took a time quadratic in their number (test_safetensors_hostile.cpp).
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
  index_.emplace(name, items_.size());
  items_.emplace_back(std::move(name), std::move(tensor));
}

void StateDict::set(std::string name, Tensor tensor, Here at) {
  if (!tensor.defined())
    detail::fail<ValueError>("StateDict::set", "the tensor must be defined", "undefined for '" + name + "'", at);
  if (auto it = index_.find(name); it != index_.end()) {
    items_[it->second].second = std::move(tensor);
  } else {
    index_.emplace(name, items_.size());
    items_.emplace_back(std::move(name), std::move(tensor));
  }
}

const Tensor* StateDict::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

const Tensor& StateDict::at(const std::string& name, Here at) const {
  if (const Tensor* t = find(name)) return *t;
  detail::fail<ValueError>("StateDict::at", "the key must be present", "no '" + name + "'", at);
}

bool StateDict::erase(const std::string& name) {
  const auto it = index_.find(name);
  if (it == index_.end()) return false;
  const std::size_t position = it->second;
  index_.erase(it);
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(position));
  for (std::size_t i = position; i < items_.size(); ++i) index_[items_[i].first] = i;
  return true;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> names;
  names.reserve(items_.size());
  for (const auto& item : items_) names.push_back(item.first);
  return names;
}

}  // namespace tapegrad
