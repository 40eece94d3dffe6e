// The small part of a stored session that a store keeps in memory whatever the backlog: identity,
// subscriptions, incoming QoS 2 identifiers, the messages with a packet identifier, and which message
// sequence numbers are live, as ranges (a backlog of a million queued messages is one range). Both built-in
// stores apply their records to it; the file store also writes it as the checkpoint that starts each segment.
#pragma once

#include <coromqtt/store.hpp>

#include <cstdint>
#include <map>
#include <vector>

namespace coromqtt::detail {

// Disjoint, ascending [first, last] ranges of live sequence numbers.
class live_ranges {
 public:
  struct range {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    friend bool operator==(const range&, const range&) = default;
  };

  void add(std::uint64_t seq);     // seq above every live one (messages are added in order); else ignored
  bool remove(std::uint64_t seq);  // false when it was not live
  bool contains(std::uint64_t seq) const noexcept;
  // The smallest live seq greater than `after`, or 0.
  std::uint64_t next_after(std::uint64_t after) const noexcept;
  // Whether some live seq lies in [from, to].
  bool any_in(std::uint64_t from, std::uint64_t to) const noexcept;
  bool empty() const noexcept { return ranges_.empty(); }
  const std::vector<range>& ranges() const noexcept { return ranges_; }
  void assign(std::vector<range> r) { ranges_ = std::move(r); }
  void clear() noexcept { ranges_.clear(); }

 private:
  std::vector<range> ranges_;
};

class store_state {
 public:
  // Applies one record. Records about messages that are not live are ignored (a done for a message already
  // done), so replaying a record twice is harmless.
  void apply(const store_record&);
  recovered_session snapshot() const;

  const live_ranges& live() const noexcept { return live_; }
  std::uint64_t last_seq() const noexcept { return last_seq_; }

  // For the file store's checkpoint.
  struct image {
    bool session_established = false;
    std::string client_id;
    std::vector<stored_subscription> subscriptions;
    std::vector<std::uint16_t> incoming;
    std::vector<stored_flight> flights;
    std::vector<live_ranges::range> live;
    std::uint64_t last_seq = 0;
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
  };
  image to_image() const;
  void from_image(image);

 private:
  bool session_established_ = false;
  std::string client_id_;
  std::vector<stored_subscription> subscriptions_;
  std::vector<std::uint16_t> incoming_;            // ascending
  std::map<std::uint64_t, stored_flight> flights_;  // by seq
  live_ranges live_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t messages_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace coromqtt::detail
