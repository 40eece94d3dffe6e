// Per-subscription message streams, as the session sees them: each stream's bounded queue, and the routes
// from the broker's subscriptions (one per topic filter) to the streams that receive them.
//
//   routes_    filter "a/#"  id 3  -> streams {1, 4}     the broker's subscription for a filter: the last
//              filter "b"    id 5  -> streams {2}        SUBSCRIBE of it decides its Subscription Identifier
//              filter "c/+"  id 6  -> streams {}         draining: unsubscribed, UNSUBACK not yet in
//   streams_   key 1 -> [ message | message ]  capacity 100
//
// A message is routed by its Subscription Identifiers when the broker supports them (MQTT 5), else by matching
// its topic against the routes' filters; session::route_publish() decides (streams.cpp). Nothing here runs
// while no stream was ever opened: the session's receive path checks empty() first.
#pragma once

#include "session/ring_buffer.hpp"

#include <coromqtt/message.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace coromqtt::detail {

struct stream_queue {
  stream_queue(std::uint64_t k, std::size_t bound) : key{k}, capacity{bound} {}
  std::uint64_t key;
  std::size_t capacity;
  ring_buffer<coromqtt::message> messages;
  // With a session store: per message, its receipt number (session::stream_receipts_total_). A message is
  // handed out only once the store records made before it are durable (persistence.cpp).
  ring_buffer<std::uint64_t> receipts;
  bool open = true;  // false once unsubscribed: nothing new arrives, what is queued can still be read
  bool fed = false;  // received a message since the client last looked (take_fed)
  bool full() const noexcept { return messages.size() >= capacity; }
};

struct stream_route {
  std::string filter;                  // as subscribed, "$share/{group}/" included
  std::uint32_t identifier = 0;        // the Subscription Identifier the broker holds for it
  std::vector<std::uint64_t> streams;  // empty: draining (UNSUBSCRIBE sent, UNSUBACK awaited)
};

class subscription_router {
 public:
  bool empty() const noexcept { return streams_.empty() && routes_.empty(); }

  stream_queue& open(std::uint64_t key, std::size_t capacity) {
    return *streams_.emplace(key, std::make_unique<stream_queue>(key, capacity)).first->second;
  }
  stream_queue* find(std::uint64_t key) noexcept {
    const auto it = streams_.find(key);
    return it == streams_.end() ? nullptr : it->second.get();
  }
  void erase(std::uint64_t key) { streams_.erase(key); }
  std::size_t stream_count() const noexcept { return streams_.size(); }

  stream_route* route_of(std::string_view filter) noexcept {
    const auto it = std::find_if(routes_.begin(), routes_.end(), [&](const auto& r) { return r.filter == filter; });
    return it == routes_.end() ? nullptr : &*it;
  }
  // The broker granted `filter` to `key` with `identifier`: it replaces whatever the filter had [MQTT-3.8.4-3].
  void bind(std::uint64_t key, const std::string& filter, std::uint32_t identifier) {
    auto* r = route_of(filter);
    if (!r) r = &routes_.emplace_back(stream_route{filter, identifier, {}});
    r->identifier = identifier;
    if (std::find(r->streams.begin(), r->streams.end(), key) == r->streams.end()) r->streams.push_back(key);
  }
  // The filter now belongs to a plain subscription (or none): no stream receives it any more.
  void unroute(std::string_view filter) {
    std::erase_if(routes_, [&](const stream_route& r) { return r.filter == filter; });
  }
  // Stops routing to `key`. Returns the filters that no other stream receives: they drain until UNSUBACK.
  std::vector<std::string> detach(std::uint64_t key) {
    std::vector<std::string> orphaned;
    for (auto& r : routes_) {
      const auto before = r.streams.size();
      std::erase(r.streams, key);
      if (before != r.streams.size() && r.streams.empty()) orphaned.push_back(r.filter);
    }
    return orphaned;
  }
  // UNSUBACK for `filter`: a draining route is gone.
  void drained(std::string_view filter) {
    std::erase_if(routes_, [&](const stream_route& r) { return r.filter == filter && r.streams.empty(); });
  }

  const std::vector<stream_route>& routes() const noexcept { return routes_; }
  bool identifier_in_use(std::uint32_t id) const noexcept {
    return std::any_of(routes_.begin(), routes_.end(), [&](const auto& r) { return r.identifier == id; });
  }

  // Streams that received a message since the last call, for the client to serve their waiters.
  void take_fed(std::vector<std::uint64_t>& out) {
    out.clear();
    if (!any_fed_) return;
    for (auto& [key, stream] : streams_)
      if (std::exchange(stream->fed, false)) out.push_back(key);
    any_fed_ = false;
  }
  void mark_fed(stream_queue& s) noexcept {
    s.fed = true;
    any_fed_ = true;
  }
  // Every stream with messages queued counts as fed (messages held back by the store may go now).
  void mark_waiting_fed() noexcept {
    for (auto& [key, stream] : streams_)
      if (!stream->messages.empty()) mark_fed(*stream);
  }

 private:
  std::unordered_map<std::uint64_t, std::unique_ptr<stream_queue>> streams_;
  std::vector<stream_route> routes_;
  bool any_fed_ = false;
};

}  // namespace coromqtt::detail
