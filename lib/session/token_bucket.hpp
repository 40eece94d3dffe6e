// Rate limiting by token bucket: `rate` tokens per second accrue up to `burst`. Sans-I/O: time is passed in.
#pragma once

#include <algorithm>
#include <chrono>

namespace coromqtt::detail {

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  token_bucket() = default;  // unlimited
  token_bucket(double rate_per_second, double burst) noexcept
      : rate_{rate_per_second}, burst_{std::max(burst, 1.0)}, tokens_{burst_} {}

  bool limited() const noexcept { return rate_ > 0; }

  // Takes `amount` tokens if the bucket allows it now. An amount larger than the burst is allowed once the
  // bucket is full, leaving it in debt, so an oversized message is delayed but never blocked forever.
  bool try_take(double amount, clock::time_point now) noexcept {
    if (!limited()) return true;
    refill(now);
    if (tokens_ + tolerance < std::min(amount, burst_)) return false;
    tokens_ -= amount;
    return true;
  }

  // When try_take(amount) will succeed, assuming nobody else takes tokens meanwhile.
  clock::time_point available_at(double amount, clock::time_point now) noexcept {
    if (!limited()) return now;
    refill(now);
    const double missing = std::min(amount, burst_) - tokens_;
    if (missing <= tolerance) return now;
    return now + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(missing / rate_));
  }

 private:
  void refill(clock::time_point now) noexcept {
    if (last_ != clock::time_point{} && now > last_)
      tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = std::max(last_, now);
  }

  // Rounding in the refill arithmetic must not make a caller that waited until available_at() wait again.
  static constexpr double tolerance = 1e-9;

  double rate_ = 0;  // tokens per second; 0 = unlimited
  double burst_ = 1;
  double tokens_ = 1;
  clock::time_point last_{};
};

}  // namespace coromqtt::detail
