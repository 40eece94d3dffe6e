// What the hostile-broker tests share: a client aimed at a scripted broker with short timeouts, the common
// scripts, and a probe of the memory the process has allocated.
#pragma once

#include "fault/fault_support.hpp"  // event_log
#include "integration/client_test_support.hpp"
#include "integration/scripted_broker.hpp"

#include <coromqtt/client.hpp>
#include <coromqtt/protocol/error.hpp>

#include <cstddef>
#include <exception>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define COROMQTT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COROMQTT_TEST_ASAN 1
#endif
#endif
#ifdef COROMQTT_TEST_ASAN
// From AddressSanitizer's runtime (sanitizer/allocator_interface.h, which not every toolchain installs).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace coromqtt::test {

// Bytes the process has allocated and not freed, reserved but untouched pages included (which RSS would not
// show: a 200 MB buffer that is never written costs no RSS, but is still 200 MB the broker made us take).
inline std::size_t allocated_bytes() {
#ifdef COROMQTT_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

inline mqtt_bytes::version wire_version(protocol_version v) {
  return v == protocol_version::v5 ? mqtt_bytes::version::v5 : mqtt_bytes::version::v3_1_1;
}

inline std::string name_of_version(protocol_version v) {
  return v == protocol_version::v5 ? "5.0" : "3.1.1";
}

// A client for a scripted broker: reconnects after 50 ms (no jitter), gives up on a CONNACK after 2 s, and
// closes within 300 ms.
inline client_options hostile_options(const scripted_broker& broker, protocol_version v) {
  client_options o;
  o.brokers = {broker.url()};
  o.version = v;
  o.client_id = "hostile";
  o.reconnect.initial_delay = 50ms;
  o.reconnect.maximum_delay = 50ms;
  o.reconnect.jitter = 0;
  o.connack_timeout = 2s;
  o.disconnect_timeout = 300ms;
  return o;
}

// The common script: CONNECT -> CONNACK; on the first connection only, after a pause (so that they arrive in
// a read of their own, not with CONNACK), `hostile` bytes; then whatever the client sends is recorded until
// it closes. Later connections (the client's reconnections) get a CONNACK and are left alone.
inline scripted_broker::script after_connack(bytes connack_bytes, bytes hostile) {
  return [connack_bytes = std::move(connack_bytes),
          hostile = std::move(hostile)](scripted_connection& c) -> asio::awaitable<void> {
    const auto connect = co_await c.receive();
    if (!connect || connect->type() != mqtt_bytes::connect_type) co_return;
    co_await c.send(connack_bytes);
    if (c.index() == 0) {
      co_await c.sleep(50ms);
      co_await c.send(hostile);
    }
    co_await c.drain_until_closed(10s);
  };
}

// The packets of one connection the client sent after CONNECT.
inline std::vector<received_packet> after_connect(const connection_log& log) {
  if (log.received.empty()) return {};
  return {log.received.begin() + 1, log.received.end()};
}

// Waits, without blocking the client's thread, until `condition` holds for the broker's logs, at most `limit`.
inline asio::awaitable<bool> broker_until(const scripted_broker& broker,
                                          std::function<bool(const std::vector<connection_log>&)> condition,
                                          std::chrono::steady_clock::duration limit = 2s) {
  co_return co_await eventually([&] { return condition(broker.log()); }, limit);
}

// Runs `checks` (which may REQUIRE) and then, whatever happened, stops the client and its event log: a failed
// REQUIRE must not leave the log's coroutine waiting on a client that is gone.
template <class Checks>
asio::awaitable<void> checked(client& c, event_log& events, Checks checks) {
  std::exception_ptr failure;
  try {
    co_await checks();
  } catch (...) {
    failure = std::current_exception();
  }
  c.stop();
  co_await events.stop();
  if (failure) std::rethrow_exception(failure);
}

// Waits until the client has connected `n` times (its events), at most `limit`.
inline asio::awaitable<bool> connected_times(const event_log& events, std::size_t n,
                                             std::chrono::steady_clock::duration limit = 5s) {
  co_return co_await eventually([&] { return events.count(event_kind::connected) >= n; }, limit);
}

}  // namespace coromqtt::test
