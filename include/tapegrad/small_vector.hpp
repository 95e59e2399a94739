// A vector that keeps its first N elements inline: shapes, strides and the tape's per-entry lists
// fit without touching the heap, which is most of the cost of a tiny op.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad {

template <class T, std::size_t N>
class SmallVector {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVector() noexcept = default;
  explicit SmallVector(size_type count) { resize(count); }
  SmallVector(size_type count, const T& value) { assign_fill(count, value); }
  SmallVector(std::initializer_list<T> values) { append(values.begin(), values.end()); }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  SmallVector(It first, It last) {
    append(first, last);
  }
  // Implicit, so a std::vector<std::int64_t> can be passed as a Shape.
  SmallVector(const std::vector<T>& values) { append(values.begin(), values.end()); }  // NOLINT

  SmallVector(const SmallVector& other) { append(other.begin(), other.end()); }
  SmallVector(SmallVector&& other) noexcept { take(std::move(other)); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) {
      clear();
      append(other.begin(), other.end());
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      clear();
      release_heap();
      take(std::move(other));
    }
    return *this;
  }
  SmallVector& operator=(std::initializer_list<T> values) {
    clear();
    append(values.begin(), values.end());
    return *this;
  }
  ~SmallVector() {
    clear();
    release_heap();
  }

  size_type size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_type capacity() const noexcept { return capacity_; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  iterator begin() noexcept { return data_; }
  iterator end() noexcept { return data_ + size_; }
  const_iterator begin() const noexcept { return data_; }
  const_iterator end() const noexcept { return data_ + size_; }
  T& operator[](size_type i) noexcept { return data_[i]; }
  const T& operator[](size_type i) const noexcept { return data_[i]; }
  T& front() noexcept { return data_[0]; }
  const T& front() const noexcept { return data_[0]; }
  T& back() noexcept { return data_[size_ - 1]; }
  const T& back() const noexcept { return data_[size_ - 1]; }

  void reserve(size_type wanted) {
    if (wanted <= capacity_) return;
    size_type grown = std::max(wanted, 2 * capacity_);
    T* fresh = static_cast<T*>(::operator new(grown * sizeof(T), std::align_val_t{alignof(T)}));
    std::uninitialized_move(data_, data_ + size_, fresh);
    std::destroy(data_, data_ + size_);
    release_heap();
    data_ = fresh;
    capacity_ = grown;
  }
  void push_back(const T& value) { emplace_back(value); }
  void push_back(T&& value) { emplace_back(std::move(value)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == capacity_) {
      T copy(std::forward<Args>(args)...);  // args may alias our elements
      reserve(size_ + 1);
      ::new (static_cast<void*>(data_ + size_)) T(std::move(copy));
    } else {
      ::new (static_cast<void*>(data_ + size_)) T(std::forward<Args>(args)...);
    }
    return data_[size_++];
  }
  void pop_back() { std::destroy_at(data_ + --size_); }
  void clear() noexcept {
    std::destroy(data_, data_ + size_);
    size_ = 0;
  }
  void resize(size_type count) {
    if (count < size_) {
      std::destroy(data_ + count, data_ + size_);
    } else {
      reserve(count);
      for (size_type i = size_; i < count; ++i) ::new (static_cast<void*>(data_ + i)) T();
    }
    size_ = count;
  }
  void resize(size_type count, const T& value) {
    if (count < size_) {
      std::destroy(data_ + count, data_ + size_);
      size_ = count;
      return;
    }
    T copy(value);
    reserve(count);
    for (size_type i = size_; i < count; ++i) ::new (static_cast<void*>(data_ + i)) T(copy);
    size_ = count;
  }
  iterator insert(const_iterator position, const T& value) { return insert(position, &value, &value + 1); }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  iterator insert(const_iterator position, It first, It last) {
    const size_type at = static_cast<size_type>(position - data_);
    std::vector<T> items(first, last);  // the source may alias our storage
    const size_type count = items.size();
    reserve(size_ + count);
    for (size_type i = 0; i < count; ++i) emplace_back(T());
    std::move_backward(data_ + at, data_ + size_ - count, data_ + size_);
    std::move(items.begin(), items.end(), data_ + at);
    return data_ + at;
  }
  iterator erase(const_iterator position) {
    const size_type at = static_cast<size_type>(position - data_);
    std::move(data_ + at + 1, data_ + size_, data_ + at);
    pop_back();
    return data_ + at;
  }

  friend bool operator==(const SmallVector& a, const SmallVector& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator!=(const SmallVector& a, const SmallVector& b) { return !(a == b); }

 private:
  T* inline_data() noexcept { return reinterpret_cast<T*>(inline_); }
  bool on_heap() const noexcept { return data_ != reinterpret_cast<const T*>(inline_); }
  void release_heap() noexcept {
    if (on_heap()) ::operator delete(data_, std::align_val_t{alignof(T)});
    data_ = inline_data();
    capacity_ = N;
  }
  template <class It>
  void append(It first, It last) {
    if constexpr (std::is_base_of_v<std::forward_iterator_tag, typename std::iterator_traits<It>::iterator_category>)
      reserve(size_ + static_cast<size_type>(std::distance(first, last)));
    for (; first != last; ++first) emplace_back(*first);
  }
  void assign_fill(size_type count, const T& value) {
    reserve(count);
    for (size_type i = 0; i < count; ++i) emplace_back(value);
  }
  void take(SmallVector&& other) noexcept {
    if (other.on_heap()) {
      data_ = other.data_;
      size_ = other.size_;
      capacity_ = other.capacity_;
      other.data_ = other.inline_data();
      other.size_ = 0;
      other.capacity_ = N;
    } else {
      std::uninitialized_move(other.data_, other.data_ + other.size_, data_);
      size_ = other.size_;
      other.clear();
    }
  }

  alignas(T) unsigned char inline_[N * sizeof(T)];
  T* data_ = reinterpret_cast<T*>(inline_);
  size_type size_ = 0;
  size_type capacity_ = N;
};

}  // namespace tapegrad
