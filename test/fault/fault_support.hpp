// What the fault scenarios share: seeded random faults, a record of what a subscriber received with the
// checks each QoS promises, a record of a client's events, and small probes (RSS, proxy URLs).
//
// Every scenario talks to a real mosquitto; the proxy (proxy.hpp) only injects the faults. The seeds make the
// schedule of faults reproducible (COROMQTT_FAULT_SEED=n replays it); the interleaving with the client's own
// timing is not, which is why every check below holds for any interleaving.
#pragma once

#include "integration/client_test_support.hpp"
#include "proxy.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::test {

using steady_time = std::chrono::steady_clock::time_point;

inline std::string name_of(protocol_version v) { return v == protocol_version::v5 ? "v5" : "v311"; }

inline std::string url_of(const fault::proxy& proxy) {
  return "mqtt://127.0.0.1:" + std::to_string(proxy.port());
}

// A session that outlives its connections, the way each version asks for it.
inline void make_session_persistent(client_options& o) {
  if (o.version == protocol_version::v5)
    o.session_expiry_interval = 3600;
  else
    o.clean_start = false;
}

// The seed of one scenario's faults: COROMQTT_FAULT_SEED when set, else a fresh one. Printed either way, so
// that a failing run names the schedule that broke it.
inline std::uint64_t fault_seed(std::string_view scenario) {
  std::uint64_t seed = 0;
  if (const char* fixed = std::getenv("COROMQTT_FAULT_SEED"); fixed != nullptr && *fixed != '\0')
    seed = std::strtoull(fixed, nullptr, 10);
  else
    seed = std::random_device{}() * 0x9E3779B97F4A7C15ull + std::random_device{}();
  std::cerr << "[fault] " << scenario << ": seed " << seed << " (COROMQTT_FAULT_SEED=" << seed
            << " replays the fault schedule)\n";
  return seed;
}

// Resident set size of this process in KiB (Linux).
inline std::size_t resident_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

// --- Faults ------------------------------------------------------------------------------------------------

// Cuts every connection through a proxy at random moments, `min_gap` to `max_gap` apart, each cut a FIN or a
// RST at random, until stopped. Runs as a coroutine on the test's io_context:
//
//   random_cuts cuts{proxy, seed, 100ms, 500ms};
//   co_spawn(io, cuts.run(), detached);
//   ...
//   co_await cuts.stop();
class random_cuts {
 public:
  random_cuts(fault::proxy& proxy, std::uint64_t seed, std::chrono::milliseconds min_gap,
              std::chrono::milliseconds max_gap)
      : proxy_{proxy}, random_{seed}, gap_{min_gap.count(), max_gap.count()} {}

  asio::awaitable<void> run() {
    running_ = true;
    while (!stopping_) {
      const auto gap = std::chrono::milliseconds{gap_(random_)};
      const auto style = random_() % 2 == 0 ? fault::close_style::fin : fault::close_style::reset;
      const auto until = std::chrono::steady_clock::now() + gap;
      // Short naps, so that stop() does not wait for a long gap to end.
      while (!stopping_ && std::chrono::steady_clock::now() < until) co_await sleep_for(10ms);
      if (stopping_) break;
      proxy_.cut_all(style);
      ++cuts_;
    }
    running_ = false;
  }

  // Ends run() and waits until it has.
  asio::awaitable<void> stop() {
    stopping_ = true;
    const bool ended = co_await eventually([this] { return !running_; }, 5s);
    REQUIRE(ended);
  }

  unsigned cuts() const noexcept { return cuts_; }

 private:
  fault::proxy& proxy_;
  std::mt19937_64 random_;
  std::uniform_int_distribution<std::int64_t> gap_;
  bool running_ = false;
  bool stopping_ = false;
  unsigned cuts_ = 0;
};

// --- What a subscriber received ----------------------------------------------------------------------------

// Payloads carry a sequence number and a filler derived from it, so that a corrupted or truncated payload is
// told apart from a correct one: "<seq>:<filler>".
inline std::string numbered_payload(std::uint32_t seq, std::size_t filler_size = 16) {
  std::string p = std::to_string(seq) + ":";
  for (std::size_t i = 0; i < filler_size; ++i) p.push_back(static_cast<char>('a' + (seq * 7 + i * 13) % 26));
  return p;
}

// The sequence number of a payload made by numbered_payload(), or -1 if the payload is not one (corrupted).
inline std::int64_t sequence_of(std::string_view payload) {
  const auto colon = payload.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) return -1;
  std::uint64_t seq = 0;
  for (char c : payload.substr(0, colon)) {
    if (c < '0' || c > '9') return -1;
    seq = seq * 10 + static_cast<std::uint64_t>(c - '0');
  }
  const auto expected = numbered_payload(static_cast<std::uint32_t>(seq), payload.size() - colon - 1);
  return expected == payload ? static_cast<std::int64_t>(seq) : -1;
}

// The messages of one topic as they arrived, and the checks of what MQTT promises about them.
class topic_record {
 public:
  void add(std::int64_t seq) {
    arrivals_.push_back(seq);
    if (seq < 0) return;
    const auto index = static_cast<std::size_t>(seq);
    if (seen_.size() <= index) seen_.resize(index + 1, false);
    if (!seen_[index]) ++distinct_;
    seen_[index] = true;
  }

  // How many different sequence numbers arrived (cheap: for polling).
  std::size_t distinct() const noexcept { return distinct_; }
  bool has(std::int64_t seq) const noexcept {
    return seq >= 0 && static_cast<std::size_t>(seq) < seen_.size() && seen_[static_cast<std::size_t>(seq)];
  }

  const std::vector<std::int64_t>& arrivals() const noexcept { return arrivals_; }
  std::size_t corrupted() const { return static_cast<std::size_t>(std::ranges::count(arrivals_, -1)); }

  // Sequence numbers in [0, expected) never received.
  std::vector<std::int64_t> missing(std::int64_t expected) const {
    std::vector<bool> seen(static_cast<std::size_t>(expected), false);
    for (auto s : arrivals_)
      if (s >= 0 && s < expected) seen[static_cast<std::size_t>(s)] = true;
    std::vector<std::int64_t> out;
    for (std::int64_t s = 0; s < expected; ++s)
      if (!seen[static_cast<std::size_t>(s)]) out.push_back(s);
    return out;
  }

  // Arrivals of a sequence number already received.
  std::size_t duplicates() const {
    std::map<std::int64_t, int> count;
    std::size_t extra = 0;
    for (auto s : arrivals_)
      if (count[s]++ > 0) ++extra;
    return extra;
  }

  // Each number arrived once and in increasing order: what QoS 2 with an ordered topic promises.
  bool strictly_increasing() const {
    return std::ranges::adjacent_find(arrivals_, std::greater_equal<>{}) == arrivals_.end();
  }

  // The last copy of each message arrives in the order published: what QoS 1 promises on an ordered topic
  // (MQTT 5.0, 4.6, non-normative comment after [MQTT-4.6.0-6]: "1,2,3,2,3,4" is a correct stream). Returns
  // the first sequence number whose final copy came before the final copy of an earlier one, or -1.
  std::int64_t first_final_copy_out_of_order() const {
    std::map<std::int64_t, std::size_t> last_position;
    for (std::size_t i = 0; i < arrivals_.size(); ++i) last_position[arrivals_[i]] = i;
    std::size_t previous = 0;
    bool first = true;
    for (const auto& [seq, position] : last_position) {  // in increasing sequence order
      if (!first && position < previous) return seq;
      previous = position;
      first = false;
    }
    return -1;
  }

  // The arrivals around the first one not greater than its predecessor: for failure messages.
  std::string first_disorder() const {
    const auto it = std::ranges::adjacent_find(arrivals_, std::greater_equal<>{});
    if (it == arrivals_.end()) return "none";
    const auto at = static_cast<std::size_t>(it - arrivals_.begin());
    std::ostringstream out;
    out << "at arrival " << at + 1 << ":";
    for (std::size_t i = at >= 8 ? at - 8 : 0; i < std::min(arrivals_.size(), at + 10); ++i)
      out << (i == at + 1 ? " [" : " ") << arrivals_[i] << (i == at + 1 ? "]" : "");
    return out.str();
  }

  // A short description for failure messages: the first missing numbers, counts.
  std::string summary(std::int64_t expected) const {
    std::ostringstream out;
    const auto gone = missing(expected);
    out << arrivals_.size() << " arrivals, " << duplicates() << " duplicates, " << corrupted() << " corrupted, "
        << gone.size() << " missing; first disorder " << first_disorder();
    if (!gone.empty()) {
      out << " (first:";
      for (std::size_t i = 0; i < std::min<std::size_t>(gone.size(), 10); ++i) out << ' ' << gone[i];
      out << ")";
    }
    return out.str();
  }

 private:
  std::vector<std::int64_t> arrivals_;
  std::vector<bool> seen_;
  std::size_t distinct_ = 0;
};

// Receives from `subscriber` into per-topic records until `done()` holds or nothing arrived for `idle`.
// Returns whether done() held.
inline asio::awaitable<bool> receive_until(client& subscriber, std::map<std::string, topic_record>& records,
                                           std::function<bool()> done,
                                           std::chrono::steady_clock::duration idle = 20s) {
  while (!done()) {
    auto m = co_await receive_within(subscriber, idle);
    if (!m) co_return false;
    records[m->topic].add(sequence_of(m->payload));
  }
  co_return true;
}

// --- What a client told ------------------------------------------------------------------------------------

struct timed_event {
  steady_time at;
  coromqtt::event event;
};

// Collects a client's events as they come, stamped with their arrival time, until stopped:
//
//   event_log log{c};
//   co_spawn(io, log.run(), detached);
//   ...
//   co_await log.stop();
//
// Each wait for an event has a cancellation slot of its own that only stop() uses: racing the wait against a
// timer instead would throw away an event that completed in the same turn as the timer. The signal and the
// events live in a state that run() shares: a log that goes out of scope before its client (without stop())
// leaves the pending wait a live slot to clear, as Asio requires of a slot's signal.
class event_log {
 public:
  explicit event_log(client& c) : client_{c} {}
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;
  ~event_log() { state_->stopping = true; }  // a wait that completes later does not touch the client again

  asio::awaitable<void> run() {
    const auto state = state_;
    client& c = client_;
    state->running = true;
    while (!state->stopping) {
      auto [ec, ev] = co_await c.async_next_event(
          asio::bind_cancellation_slot(state->stop_signal.slot(), asio::as_tuple(asio::use_awaitable)));
      if (ec == error::client_stopped) {
        // The client stopped and every event is read; the test may start it again (reconnect()), so look
        // again shortly rather than end the log.
        co_await sleep_for(5ms);
        continue;
      }
      if (ec) break;
      state->events.push_back({std::chrono::steady_clock::now(), std::move(ev)});
    }
    state->running = false;
  }

  asio::awaitable<void> stop() {
    state_->stopping = true;
    state_->stop_signal.emit(asio::cancellation_type::terminal);
    const bool ended = co_await eventually([this] { return !state_->running; }, 5s);
    REQUIRE(ended);
  }

  const std::vector<timed_event>& events() const noexcept { return state_->events; }

  std::vector<timed_event> of_kind(event_kind kind) const {
    std::vector<timed_event> out;
    for (const auto& e : state_->events)
      if (e.event.kind == kind) out.push_back(e);
    return out;
  }

  std::size_t count(event_kind kind) const {
    return static_cast<std::size_t>(
        std::ranges::count_if(state_->events, [kind](const timed_event& e) { return e.event.kind == kind; }));
  }

  // "connecting, connected, disconnected(keep_alive_timeout), ...": for failure messages.
  std::string story() const {
    std::ostringstream out;
    for (const auto& e : state_->events) {
      out << to_string(e.event.kind);
      if (e.event.error) out << "(" << e.event.error.message() << ")";
      if (e.event.kind == event_kind::reconnect_scheduled) out << "(" << e.event.delay.count() << " ms)";
      out << ", ";
    }
    return out.str();
  }

 private:
  struct shared_state {
    asio::cancellation_signal stop_signal;
    std::vector<timed_event> events;
    bool running = false;
    bool stopping = false;
  };
  client& client_;
  std::shared_ptr<shared_state> state_ = std::make_shared<shared_state>();
};

inline message make_message(std::string topic, std::string payload, qos q) {
  return message{std::move(topic), std::move(payload), q, false, {}};
}

// Counters of a publish campaign issued with async_publish and completion callbacks.
struct publish_tally {
  std::uint64_t issued = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::map<std::string, std::uint64_t> errors;  // message -> count

  bool all_done() const { return succeeded + failed == issued; }

  // Issues one publish; the callback counts its outcome.
  void publish(client& c, message m) {
    ++issued;
    c.async_publish(std::move(m), [this](error_code ec, const publish_result&) {
      if (ec) {
        ++failed;
        ++errors[ec.message()];
      } else {
        ++succeeded;
      }
    });
  }

  std::string summary() const {
    std::ostringstream out;
    out << issued << " issued, " << succeeded << " succeeded, " << failed << " failed";
    for (const auto& [what, n] : errors) out << " [" << what << " x" << n << "]";
    return out.str();
  }
};

inline std::string describe(const statistics& s) {
  std::ostringstream out;
  out << "sent " << s.messages_sent << ", acked " << s.publishes_acked << ", retransmitted " << s.retransmitted
      << ", resent " << s.resent << ", resubscribed " << s.resubscribed << ", attempts " << s.connection_attempts
      << ", connects " << s.connects << ", received " << s.messages_received << ", delivered "
      << s.messages_delivered;
  return out.str();
}

}  // namespace coromqtt::test
