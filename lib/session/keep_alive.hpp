// Keep alive bookkeeping [MQTT-3.1.2-22], [MQTT-3.1.2-23]: when to send PINGREQ, when to give up on the broker.
// Sans-I/O: time is passed in.
//
// A PINGREQ is due when nothing was sent for the keep alive (the standard's rule for the client) or nothing was
// received for it (so a silent broker is asked for proof of life even while we publish non-stop). The
// connection is dead when nothing at all arrived for keep alive + ping timeout (1.5 x keep alive by default):
// this also catches a black-holed connection whose writes never complete.
#pragma once

#include <chrono>

namespace coromqtt::detail {

class keep_alive {
 public:
  using clock = std::chrono::steady_clock;

  // Starts tracking a connection. A zero interval turns keep alive off (no pings, never dead).
  void start(clock::duration interval, clock::duration ping_timeout, clock::time_point now) noexcept {
    interval_ = interval;
    ping_timeout_ = ping_timeout;
    last_sent_ = last_received_ = now;
    ping_outstanding_ = false;
  }

  void on_sent(clock::time_point now) noexcept { last_sent_ = now; }
  void on_received(clock::time_point now) noexcept {
    last_received_ = now;
    ping_outstanding_ = false;
  }
  void on_ping_sent(clock::time_point now) noexcept {
    last_sent_ = now;
    ping_outstanding_ = true;
  }

  bool enabled() const noexcept { return interval_ > clock::duration::zero(); }

  bool ping_due(clock::time_point now) const noexcept {
    return enabled() && !ping_outstanding_ && (now - last_sent_ >= interval_ || now - last_received_ >= interval_);
  }

  bool expired(clock::time_point now) const noexcept {
    return enabled() && now - last_received_ >= interval_ + ping_timeout_;
  }

  // The next moment at which ping_due() or expired() may change without any traffic.
  clock::time_point next_deadline() const noexcept {
    if (!enabled()) return clock::time_point::max();
    const auto dead_at = last_received_ + interval_ + ping_timeout_;
    if (ping_outstanding_) return dead_at;
    return std::min(std::min(last_sent_, last_received_) + interval_, dead_at);
  }

  clock::duration interval() const noexcept { return interval_; }

 private:
  clock::duration interval_{};
  clock::duration ping_timeout_{};
  clock::time_point last_sent_{};
  clock::time_point last_received_{};
  bool ping_outstanding_ = false;
};

}  // namespace coromqtt::detail
