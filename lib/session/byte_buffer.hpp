// A growable byte buffer that does not zero what it is about to overwrite (std::vector::resize does), and
// keeps its capacity across clear() so that a connection in steady state does not allocate.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace coromqtt::detail {

class byte_buffer {
 public:
  std::uint8_t* data() noexcept { return data_.get(); }
  const std::uint8_t* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::uint8_t> bytes() const noexcept { return {data_.get(), size_}; }

  // Appends n bytes for the caller to fill and returns them.
  std::span<std::uint8_t> append(std::size_t n) {
    reserve(size_ + n);
    auto out = std::span<std::uint8_t>{data_.get() + size_, n};
    size_ += n;
    return out;
  }

  void reserve(std::size_t wanted) {
    if (wanted <= capacity_) return;
    const std::size_t capacity = std::max(wanted, capacity_ * 2);
    auto storage = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
    if (size_) std::memcpy(storage.get(), data_.get(), size_);
    data_ = std::move(storage);
    capacity_ = capacity;
  }

  // The free space after the bytes, to write into before commit() takes what was written.
  std::span<std::uint8_t> spare() noexcept { return {data_.get() + size_, capacity_ - size_}; }
  void commit(std::size_t n) noexcept { size_ += std::min(n, capacity_ - size_); }

  void resize(std::size_t n) {  // new bytes are left uninitialised
    reserve(n);
    size_ = n;
  }

  // Drops the first n bytes, moving the rest to the front.
  void consume(std::size_t n) noexcept {
    n = std::min(n, size_);
    if (n < size_) std::memmove(data_.get(), data_.get() + n, size_ - n);
    size_ -= n;
  }

  void clear() noexcept { size_ = 0; }

  // Gives memory back after a burst (e.g. one huge packet), so an idle connection stays small.
  void shrink_to(std::size_t capacity) {
    if (capacity_ <= capacity || size_ > capacity) return;
    auto storage = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
    if (size_) std::memcpy(storage.get(), data_.get(), size_);
    data_ = std::move(storage);
    capacity_ = capacity;
  }

  void swap(byte_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace coromqtt::detail
