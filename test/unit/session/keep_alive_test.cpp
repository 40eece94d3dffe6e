// The building blocks of the session, each on its own with a fake clock.
#include "session/keep_alive.hpp"
#include "session/outgoing_table.hpp"
#include "session/ring_buffer.hpp"
#include "session/token_bucket.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using namespace coromqtt::detail;
using namespace std::chrono_literals;

namespace {
const auto t0 = std::chrono::steady_clock::time_point{} + 1000h;
}

TEST_CASE("keep_alive: off when the interval is zero", "[keepalive]") {
  keep_alive k;
  k.start(0s, 0s, t0);
  CHECK_FALSE(k.ping_due(t0 + 1000h));
  CHECK_FALSE(k.expired(t0 + 1000h));
  CHECK(k.next_deadline() == std::chrono::steady_clock::time_point::max());
}

TEST_CASE("keep_alive: a ping is due after an idle interval in either direction", "[keepalive]") {
  keep_alive k;
  k.start(10s, 5s, t0);
  k.on_received(t0 + 8s);
  CHECK_FALSE(k.ping_due(t0 + 9s));
  CHECK(k.ping_due(t0 + 10s));  // nothing sent for 10 s
  k.on_sent(t0 + 10s);
  CHECK_FALSE(k.ping_due(t0 + 17s));
  CHECK(k.ping_due(t0 + 18s));  // nothing received for 10 s
  k.on_ping_sent(t0 + 18s);
  CHECK_FALSE(k.ping_due(t0 + 19s));  // one ping at a time
  CHECK(k.next_deadline() == t0 + 23s);
  CHECK_FALSE(k.expired(t0 + 22s));
  CHECK(k.expired(t0 + 23s));
}

TEST_CASE("token_bucket: rate and burst", "[throttle]") {
  token_bucket b{100, 10};
  int taken = 0;
  while (b.try_take(1, t0)) ++taken;
  CHECK(taken == 10);  // the burst
  CHECK(b.available_at(1, t0) == t0 + 10ms);
  CHECK_FALSE(b.try_take(1, t0 + 9ms));
  CHECK(b.try_take(1, t0 + 10ms));
  // An amount larger than the burst waits for a full bucket, then goes into debt.
  CHECK(b.available_at(50, t0 + 10ms) == t0 + 110ms);
  CHECK(b.try_take(50, t0 + 110ms));
  CHECK_FALSE(b.try_take(1, t0 + 110ms));
  CHECK(b.available_at(1, t0 + 110ms) == t0 + 520ms);
}

TEST_CASE("ring_buffer: FIFO across growth, erase keeps order", "[containers]") {
  ring_buffer<std::unique_ptr<std::string>> ring;
  for (int i = 0; i < 3; ++i) ring.emplace_back(std::make_unique<std::string>(std::to_string(i)));
  ring.pop_front();
  for (int i = 3; i < 20; ++i) ring.emplace_back(std::make_unique<std::string>(std::to_string(i)));
  REQUIRE(ring.size() == 19);
  ring.erase(5);  // "6"
  std::string seen;
  while (!ring.empty()) {
    seen += *ring.front() + ",";
    ring.pop_front();
  }
  CHECK(seen == "1,2,3,4,5,7,8,9,10,11,12,13,14,15,16,17,18,19,");
}
