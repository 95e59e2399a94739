// StateDict: named tensors in insertion order, like PyTorch's state_dict (an OrderedDict). Modules
// produce and load them (nn/module.hpp), optimisers keep their state in one (optim/optimizer.hpp), and
// safetensors files hold one (io/safetensors.hpp). Names are unique.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tapegrad/here.hpp"
#include "tapegrad/tensor.hpp"

namespace tapegrad {

class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;

  StateDict() = default;
  // From name-tensor pairs in order; ValueError on a duplicate name or an undefined tensor.
  StateDict(std::initializer_list<Item> items, Here at = Here::current());

  // Appends `name`; ValueError when the name is already there or the tensor is undefined.
  void insert(std::string name, Tensor tensor, Here at = Here::current());
  // Appends or replaces.
  void set(std::string name, Tensor tensor, Here at = Here::current());
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  // The tensor of `name`, or null.
  const Tensor* find(const std::string& name) const;
  // The tensor of `name`; ValueError naming the missing key otherwise.
  const Tensor& at(const std::string& name, Here at = Here::current()) const;
  // Removes `name` if present; returns whether it was.
  bool erase(const std::string& name);

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<std::string> keys() const;
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  const std::vector<Item>& items() const { return items_; }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;  // name -> position in items_
};

}  // namespace tapegrad
