// The reconnect policy's decisions, without any waiting.
#include <coromqtt/reconnect.hpp>

#include <catch2/catch.hpp>

using namespace coromqtt;
using namespace std::chrono_literals;

namespace {
connection_failure failure(unsigned attempt, reason_code reason = reason_code::success) {
  connection_failure f;
  f.error = make_error_code(error::connection_closed);
  f.reason = reason;
  f.attempt = attempt;
  return f;
}
}  // namespace

TEST_CASE("backoff grows exponentially up to the maximum", "[reconnect]") {
  reconnect_policy p;
  p.initial_delay = 100ms;
  p.multiplier = 2;
  p.maximum_delay = 1000ms;
  p.jitter = 0;
  CHECK(decide_reconnect(p, failure(1), 0.5) == 100ms);
  CHECK(decide_reconnect(p, failure(2), 0.5) == 200ms);
  CHECK(decide_reconnect(p, failure(4), 0.5) == 800ms);
  CHECK(decide_reconnect(p, failure(5), 0.5) == 1000ms);
  CHECK(decide_reconnect(p, failure(1000), 0.5) == 1000ms);  // no overflow after a long outage
}

TEST_CASE("jitter spreads the delay below the computed value", "[reconnect]") {
  reconnect_policy p;
  p.initial_delay = 1000ms;
  p.jitter = 0.5;
  CHECK(decide_reconnect(p, failure(1), 0.0) == 1000ms);
  CHECK(decide_reconnect(p, failure(1), 0.999) == 500ms);
  CHECK(decide_reconnect(p, failure(1), 0.5) == 750ms);
}

TEST_CASE("maximum attempts stop the retries", "[reconnect]") {
  reconnect_policy p;
  p.maximum_attempts = 3;
  CHECK(decide_reconnect(p, failure(3), 0).has_value());
  CHECK_FALSE(decide_reconnect(p, failure(4), 0).has_value());
}

TEST_CASE("refused credentials stop by default instead of hammering the broker", "[reconnect]") {
  reconnect_policy p;
  for (auto rc : {reason_code::bad_user_name_or_password, reason_code::not_authorized, reason_code::banned,
                  reason_code::bad_authentication_method})
    CHECK_FALSE(decide_reconnect(p, failure(1, rc), 0).has_value());
  CHECK(decide_reconnect(p, failure(1, reason_code::server_busy), 0).has_value());
  p.stop_on_authentication_failure = false;
  CHECK(decide_reconnect(p, failure(1, reason_code::not_authorized), 0).has_value());
}

TEST_CASE("a user callback decides every failure", "[reconnect]") {
  reconnect_policy p;
  unsigned seen = 0;
  p.decide = [&](const connection_failure& f) -> reconnect_decision {
    seen = f.attempt;
    if (f.attempt > 2) return std::nullopt;
    return std::chrono::milliseconds{f.attempt * 7};
  };
  CHECK(decide_reconnect(p, failure(2, reason_code::not_authorized), 0) == 14ms);
  CHECK(seen == 2);
  CHECK_FALSE(decide_reconnect(p, failure(3), 0).has_value());
}

TEST_CASE("disabled reconnection never retries", "[reconnect]") {
  reconnect_policy p;
  p.enabled = false;
  CHECK_FALSE(decide_reconnect(p, failure(1), 0).has_value());
}
