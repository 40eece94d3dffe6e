// A read-only sequence that is either borrowed from the caller (a span, when building a packet to encode) or
// still encoded in the bytes of a decoded packet (so that decoding never allocates). The decoder validates the
// bytes once; iteration then parses one element at a time without checks.
#pragma once

#include <coromqtt/protocol/types.hpp>

#include <cstddef>
#include <iterator>
#include <ranges>
#include <span>
#include <type_traits>

namespace coromqtt::protocol {

// Layout is a policy with three static functions over validated bytes:
//   const std::uint8_t* first(const std::uint8_t* begin, const std::uint8_t* end);  // first element or end
//   const std::uint8_t* next(const std::uint8_t* at, const std::uint8_t* end);      // element after `at` or end
//   Value read(const std::uint8_t* at);
template <class Value, class Layout>
class encoded_list {
 public:
  using value_type = Value;

  encoded_list() = default;
  encoded_list(std::span<const Value> values) noexcept : borrowed_{values}, size_{values.size()} {}
  // Borrows a contiguous container (std::array, std::vector, C array), which must outlive the list. Only
  // lvalues: a temporary container would be gone before the list is read.
  template <class Range>
    requires std::is_lvalue_reference_v<Range> && (!std::is_same_v<std::remove_cvref_t<Range>, encoded_list>) &&
             std::ranges::contiguous_range<Range> && std::is_same_v<std::ranges::range_value_t<Range>, Value>
  encoded_list(Range&& values) noexcept
      : encoded_list(std::span<const Value>(std::ranges::data(values), std::ranges::size(values))) {}

  // For the decoder: `bytes` holds `count` validated elements.
  static encoded_list from_wire(byte_view bytes, std::size_t count) noexcept {
    encoded_list list;
    list.wire_ = bytes;
    list.size_ = count;
    list.on_wire_ = true;
    return list;
  }

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Value;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Value;

    iterator() = default;
    Value operator*() const noexcept { return on_wire_ ? Layout::read(at_) : *borrowed_; }
    iterator& operator++() noexcept {
      if (on_wire_)
        at_ = Layout::next(at_, end_);
      else
        ++borrowed_;
      return *this;
    }
    iterator operator++(int) noexcept {
      auto copy = *this;
      ++*this;
      return copy;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.on_wire_ ? a.at_ == b.at_ : a.borrowed_ == b.borrowed_;
    }

   private:
    friend class encoded_list;
    const Value* borrowed_ = nullptr;
    const std::uint8_t* at_ = nullptr;
    const std::uint8_t* end_ = nullptr;
    bool on_wire_ = false;
  };

  iterator begin() const noexcept {
    iterator it;
    it.on_wire_ = on_wire_;
    if (on_wire_) {
      it.end_ = wire_.data() + wire_.size();
      it.at_ = Layout::first(wire_.data(), it.end_);
    } else {
      it.borrowed_ = borrowed_.data();
    }
    return it;
  }
  iterator end() const noexcept {
    iterator it;
    it.on_wire_ = on_wire_;
    if (on_wire_)
      it.at_ = it.end_ = wire_.data() + wire_.size();
    else
      it.borrowed_ = borrowed_.data() + borrowed_.size();
    return it;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // Element-wise, whichever form each side is in.
  friend bool operator==(const encoded_list& a, const encoded_list& b) noexcept {
    if (a.size_ != b.size_) return false;
    auto j = b.begin();
    for (auto it = a.begin(); it != a.end(); ++it, ++j)
      if (!(*it == *j)) return false;
    return true;
  }

 private:
  std::span<const Value> borrowed_{};
  byte_view wire_{};
  std::size_t size_ = 0;
  bool on_wire_ = false;
};

}  // namespace coromqtt::protocol
