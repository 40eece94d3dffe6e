#include <coromqtt/reconnect.hpp>

#include <algorithm>
#include <cmath>

namespace coromqtt {

bool is_authentication_failure(reason_code rc) noexcept {
  return rc == reason_code::bad_user_name_or_password || rc == reason_code::not_authorized ||
         rc == reason_code::banned || rc == reason_code::bad_authentication_method;
}

reconnect_decision decide_reconnect(const reconnect_policy& policy, const connection_failure& failure,
                                    double random01) {
  if (policy.decide) return policy.decide(failure);
  if (!policy.enabled) return std::nullopt;
  if (policy.stop_on_authentication_failure && is_authentication_failure(failure.reason)) return std::nullopt;
  if (policy.maximum_attempts != 0 && failure.attempt > policy.maximum_attempts) return std::nullopt;

  // initial * multiplier^(attempt-1), computed in floating point and capped before converting back, so a long
  // outage cannot overflow the duration.
  const double exponent = static_cast<double>(failure.attempt > 0 ? failure.attempt - 1 : 0);
  const double base_ms = static_cast<double>(policy.initial_delay.count()) *
                         std::pow(std::max(policy.multiplier, 1.0), std::min(exponent, 64.0));
  const double capped_ms = std::min(base_ms, static_cast<double>(policy.maximum_delay.count()));
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  const double delay_ms = capped_ms * (1.0 - jitter * std::clamp(random01, 0.0, 1.0));
  return std::chrono::milliseconds{static_cast<std::int64_t>(delay_ms)};
}

}  // namespace coromqtt
