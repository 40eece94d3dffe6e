// Outgoing topic aliases (MQTT 5, 3.3.2.3.4), least recently used: while the broker's Topic Alias Maximum is
// not reached every new topic takes the next alias; after that a topic seen again takes over the alias of the
// topic used least recently, so a program that moves on to other topics keeps saving bytes instead of leaving
// every alias to the first topics it happened to publish. A topic only takes over an alias on its second miss
// (a doorkeeper remembers recent misses): a one-off topic would pay for an alias it never reuses and evict one
// in use (bench/topic_alias_bench measures both workloads).
//
//   map_    topic -> alias                          (one node per alias; a reassigned node is re-keyed in place,
//                                                    so steady state allocates nothing)
//   nodes_  alias - 1 -> { topic, prev, next }      the recency list: head_ most recent, tail_ least
//
// Choosing and committing are separate: the mapping changes only once the PUBLISH that announces it has been
// encoded, since the broker learns a mapping from that packet [MQTT-3.3.2-12]. Mappings never outlive the
// connection [MQTT-3.3.2-7]: clear() on every new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace coromqtt::detail {

class topic_alias_table {
 public:
  struct choice {
    std::uint16_t alias = 0;  // 0: send the topic without an alias
    bool known = false;       // the broker knows this mapping: send the alias with an empty topic
    std::size_t hash = 0;     // of the topic, when it was looked up in the doorkeeper
  };

  // What to send for `topic`, with at most `maximum` aliases (the broker's Topic Alias Maximum). No change.
  choice choose(const std::string& topic, std::uint16_t maximum) const {
    if (maximum == 0) return {};
    if (const auto it = map_.find(topic); it != map_.end()) return {it->second, true};
    if (nodes_.size() < maximum) return {static_cast<std::uint16_t>(nodes_.size() + 1), false};
    // Full: a topic takes over the least recently used alias only if it missed recently too. A topic seen
    // once in a long while would otherwise pay 3 bytes for an alias it never reuses, and evict a useful one.
    const auto hash = std::hash<std::string>{}(topic);
    if (!doorkeeper_.empty() && doorkeeper_[slot_of(hash)] == hash) return {tail_, false, hash};
    return {0, false, hash};
  }

  // The PUBLISH chosen for is encoded: record the use (and the new mapping).
  void commit(const std::string& topic, choice c) {
    if (c.alias == 0) {
      if (c.hash != 0) remember_miss(c.hash);
      return;
    }
    if (!c.known) {
      if (c.alias == nodes_.size() + 1) {
        const auto inserted = map_.emplace(topic, c.alias).first;
        nodes_.push_back({&inserted->first, 0, 0});
        link_front(c.alias);
        return;
      }
      // Re-key the node of the alias taken over: the map node and its string's storage are reused.
      auto& n = node(c.alias);
      auto handle = map_.extract(*n.topic);
      handle.key() = topic;
      n.topic = &map_.insert(std::move(handle)).position->first;
      ++reassigned_;
    }
    unlink(c.alias);
    link_front(c.alias);
  }

  void clear() {
    map_.clear();
    nodes_.clear();
    doorkeeper_.clear();
    head_ = tail_ = 0;
  }

  std::size_t size() const noexcept { return nodes_.size(); }
  // Aliases handed from one topic to another, over the life of the table.
  std::uint64_t reassignments() const noexcept { return reassigned_; }

 private:
  struct alias_node {
    const std::string* topic;  // the key in map_
    std::uint16_t prev;        // towards the most recent (0 = none)
    std::uint16_t next;        // towards the least recent
  };
  alias_node& node(std::uint16_t alias) noexcept { return nodes_[alias - 1u]; }

  // The doorkeeper: the hashes of recent misses, direct-mapped, twice as many slots as aliases (a power of
  // two, at most 4,096). A collision only forgets a sighting or, rarely, admits a topic one miss early.
  std::size_t slot_of(std::size_t hash) const noexcept { return hash & (doorkeeper_.size() - 1); }
  void remember_miss(std::size_t hash) {
    if (doorkeeper_.empty()) {
      std::size_t slots = 16;
      while (slots < 2 * nodes_.size() && slots < 4096) slots *= 2;
      doorkeeper_.assign(slots, 0);
    }
    doorkeeper_[slot_of(hash)] = hash;
  }

  void unlink(std::uint16_t alias) noexcept {
    auto& n = node(alias);
    (n.prev ? node(n.prev).next : head_) = n.next;
    (n.next ? node(n.next).prev : tail_) = n.prev;
    n.prev = n.next = 0;
  }
  void link_front(std::uint16_t alias) noexcept {
    auto& n = node(alias);
    n.prev = 0;
    n.next = head_;
    (head_ ? node(head_).prev : tail_) = alias;
    head_ = alias;
  }

  std::unordered_map<std::string, std::uint16_t> map_;
  std::vector<alias_node> nodes_;
  std::vector<std::size_t> doorkeeper_;
  std::uint16_t head_ = 0;
  std::uint16_t tail_ = 0;
  std::uint64_t reassigned_ = 0;
};

}  // namespace coromqtt::detail
