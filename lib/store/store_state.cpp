#include "store/store_state.hpp"

#include <algorithm>


namespace coromqtt::detail {

void live_ranges::add(std::uint64_t seq) {
  if (!ranges_.empty() && seq <= ranges_.back().last) return;
  if (!ranges_.empty() && ranges_.back().last + 1 == seq)
    ranges_.back().last = seq;
  else
    ranges_.push_back({seq, seq});
}

bool live_ranges::remove(std::uint64_t seq) {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                             [](std::uint64_t s, const range& r) { return s < r.first; });
  if (it == ranges_.begin()) return false;
  --it;
  if (seq > it->last) return false;
  if (it->first == it->last) {
    ranges_.erase(it);
  } else if (seq == it->first) {
    ++it->first;
  } else if (seq == it->last) {
    --it->last;
  } else {
    const range upper{seq + 1, it->last};
    it->last = seq - 1;
    ranges_.insert(it + 1, upper);
  }
  return true;
}

bool live_ranges::contains(std::uint64_t seq) const noexcept {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                             [](std::uint64_t s, const range& r) { return s < r.first; });
  if (it == ranges_.begin()) return false;
  --it;
  return seq <= it->last;
}

std::uint64_t live_ranges::next_after(std::uint64_t after) const noexcept {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), after,
                             [](std::uint64_t s, const range& r) { return s < r.last; });
  if (it == ranges_.end()) return 0;
  return std::max(it->first, after + 1);
}

bool live_ranges::any_in(std::uint64_t from, std::uint64_t to) const noexcept {
  const auto next = next_after(from == 0 ? 0 : from - 1);
  return next != 0 && next <= to;
}

void store_state::apply(const store_record& r) {
  using type = store_record::type;
  switch (r.what) {
    case type::session:
      session_established_ = true;
      client_id_ = r.client_id;
      break;
    case type::session_cleared:
      session_established_ = false;
      incoming_.clear();
      flights_.clear();
      break;
    case type::message_added:
      if (r.seq <= last_seq_) break;
      last_seq_ = r.seq;
      live_.add(r.seq);
      ++messages_;
      bytes_ += r.bytes;
      break;
    case type::message_sent:
      if (!live_.contains(r.seq)) break;
      flights_[r.seq] = {r.seq, r.packet_id, stored_phase::sent};
      break;
    case type::message_released:
      if (auto it = flights_.find(r.seq); it != flights_.end()) it->second.phase = stored_phase::released;
      break;
    case type::message_done:
      if (!live_.remove(r.seq)) break;
      flights_.erase(r.seq);
      --messages_;
      bytes_ -= std::min<std::uint64_t>(bytes_, r.bytes);
      break;
    case type::incoming_received:
      if (auto it = std::lower_bound(incoming_.begin(), incoming_.end(), r.packet_id);
          it == incoming_.end() || *it != r.packet_id)
        incoming_.insert(it, r.packet_id);
      break;
    case type::incoming_released:
      if (auto it = std::lower_bound(incoming_.begin(), incoming_.end(), r.packet_id);
          it != incoming_.end() && *it == r.packet_id)
        incoming_.erase(it);
      break;
    case type::subscriptions:
      subscriptions_ = r.subscriptions;
      break;
  }
}

recovered_session store_state::snapshot() const {
  recovered_session s;
  s.session_established = session_established_;
  s.client_id = client_id_;
  s.subscriptions = subscriptions_;
  s.incoming = incoming_;
  for (const auto& [seq, flight] : flights_) s.flights.push_back(flight);
  s.last_seq = last_seq_;
  s.messages = static_cast<std::size_t>(messages_);
  s.bytes = static_cast<std::size_t>(bytes_);
  return s;
}

store_state::image store_state::to_image() const {
  image i;
  i.session_established = session_established_;
  i.client_id = client_id_;
  i.subscriptions = subscriptions_;
  i.incoming = incoming_;
  for (const auto& [seq, flight] : flights_) i.flights.push_back(flight);
  i.live = live_.ranges();
  i.last_seq = last_seq_;
  i.messages = messages_;
  i.bytes = bytes_;
  return i;
}

void store_state::from_image(image i) {
  session_established_ = i.session_established;
  client_id_ = std::move(i.client_id);
  subscriptions_ = std::move(i.subscriptions);
  incoming_ = std::move(i.incoming);
  flights_.clear();
  for (const auto& f : i.flights) flights_[f.seq] = f;
  live_.assign(std::move(i.live));
  last_seq_ = i.last_seq;
  messages_ = i.messages;
  bytes_ = i.bytes;
}

}  // namespace coromqtt::detail
