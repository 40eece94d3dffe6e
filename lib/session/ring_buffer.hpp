// A FIFO over one contiguous allocation that grows (doubling) on demand and never shrinks below what it reached.
// Unlike std::deque it allocates only while growing, so a queue in steady state allocates nothing per element.
// Bounds are the owner's business: this container only grows when the owner pushes.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <utility>

namespace coromqtt::detail {

template <class T>
class ring_buffer {
 public:
  ring_buffer() = default;
  ring_buffer(const ring_buffer&) = delete;
  ring_buffer& operator=(const ring_buffer&) = delete;
  ~ring_buffer() { clear(); }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  T& front() noexcept {
    assert(size_ > 0);
    return slot(0);
  }
  T& operator[](std::size_t i) noexcept { return slot(i); }
  const T& operator[](std::size_t i) const noexcept { return const_cast<ring_buffer&>(*this).slot(i); }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == capacity_) grow();
    T* p = std::construct_at(&raw(head_ + size_), std::forward<Args>(args)...);
    ++size_;
    return *p;
  }

  void pop_front() noexcept {
    assert(size_ > 0);
    std::destroy_at(&slot(0));
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
  }

  // Removes the element at index i (0 = front), keeping the order of the others. O(n); used for cancellation.
  void erase(std::size_t i) noexcept {
    for (; i + 1 < size_; ++i) slot(i) = std::move(slot(i + 1));
    std::destroy_at(&slot(size_ - 1));
    --size_;
  }

  void clear() noexcept {
    while (size_ > 0) pop_front();
  }

 private:
  T& raw(std::size_t index) noexcept { return storage_[index & (capacity_ - 1)].value; }
  T& slot(std::size_t i) noexcept { return raw(head_ + i); }

  void grow() {
    // From 2: a queue that holds a couple of elements for good (an idle client's unread connection events)
    // should not pay for four.
    const std::size_t capacity = capacity_ ? capacity_ * 2 : 2;
    auto storage = std::make_unique<cell[]>(capacity);
    for (std::size_t i = 0; i < size_; ++i) {
      std::construct_at(&storage[i].value, std::move(slot(i)));
      std::destroy_at(&slot(i));
    }
    storage_ = std::move(storage);
    capacity_ = capacity;
    head_ = 0;
  }

  // Uninitialised storage for one element: constructed and destroyed by hand.
  union cell {
    cell() noexcept {}
    ~cell() {}
    T value;
  };

  std::unique_ptr<cell[]> storage_;
  std::size_t capacity_ = 0;  // a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace coromqtt::detail
