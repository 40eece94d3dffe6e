// The log points' helpers (lib/client/logging.hpp): a line is composed only when the sink wants its level, and
// packet trace lines say type, flags, identifier and size, never a topic, payload or password.
#include "client/logging.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

using namespace coromqtt;
using coromqtt::protocol::protocol_version;

// Every allocation of this program is counted, so that a test can show that a filtered log point allocates
// nothing (formatting a line would).
namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc{};
}
// The nothrow forms too (Catch uses them): with a sanitizer's own versions beside these, memory from one family
// would be freed by the other.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

struct recorded_line {
  log_level level;
  std::string text;
};

log_options recording_into(std::vector<recorded_line>& lines, log_level minimum) {
  log_options options;
  options.minimum_level = minimum;
  options.sink = [&lines](log_level level, std::string_view text) { lines.push_back({level, std::string{text}}); };
  return options;
}

using bytes = std::vector<std::uint8_t>;

// PUBLISH at QoS 1 of "s/t" with packet identifier 12 and the payload "secret" (MQTT 5: no properties).
const bytes publish_qos1 = {0x32, 0x0E, 0x00, 0x03, 's', '/', 't', 0x00, 0x0C, 0x00, 's', 'e', 'c', 'r', 'e', 't'};

}  // namespace

TEST_CASE("a log point composes its line only when the sink wants its level", "[logging]") {
  std::size_t composed = 0;
  auto compose = [&] {
    ++composed;
    return std::string{"connecting to mqtt://127.0.0.1:1883 (attempt 1)"};
  };

  SECTION("no sink: nothing is composed") {
    log_options options;
    options.minimum_level = log_level::trace;
    detail::write_log(options, log_level::error, compose);
    CHECK(composed == 0);
  }
  SECTION("below the minimum level, or minimum level off: nothing is composed") {
    std::vector<recorded_line> lines;
    auto options = recording_into(lines, log_level::warning);
    detail::write_log(options, log_level::info, compose);
    detail::write_log(options, log_level::trace, compose);
    options.minimum_level = log_level::off;
    detail::write_log(options, log_level::error, compose);
    CHECK(composed == 0);
    CHECK(lines.empty());
  }
  SECTION("at or above the minimum level: composed once, handed to the sink with its level") {
    std::vector<recorded_line> lines;
    auto options = recording_into(lines, log_level::info);
    detail::write_log(options, log_level::info, compose);
    detail::write_log(options, log_level::error, compose);
    CHECK(composed == 2);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].level == log_level::info);
    CHECK(lines[1].level == log_level::error);
    CHECK(lines[0].text == "connecting to mqtt://127.0.0.1:1883 (attempt 1)");
  }
  SECTION("a throwing sink loses the line, not the caller") {
    log_options options;
    options.sink = [](log_level, std::string_view) { throw std::runtime_error("disk full"); };
    CHECK_NOTHROW(detail::write_log(options, log_level::error, compose));
    CHECK(composed == 1);
  }
}

TEST_CASE("a filtered-out log point allocates nothing", "[logging]") {
  std::vector<recorded_line> lines;
  lines.reserve(1);
  const auto filtering = recording_into(lines, log_level::warning);
  const log_options unset;
  const std::string broker = "mqtts://broker.example:8883";
  const auto before = allocations.load();
  for (int i = 0; i < 1000; ++i) {
    // Lines long enough to need the heap if they were built.
    detail::write_log(filtering, log_level::info,
                      [&] { return "connecting to " + broker + " (attempt " + std::to_string(i) + ")"; });
    detail::write_log(unset, log_level::error, [&] { return "connecting to " + broker + " failed"; });
    detail::log_packets(filtering, "sent", publish_qos1, protocol_version::v5);
    detail::log_packets(unset, "received", publish_qos1, protocol_version::v5);
  }
  CHECK(allocations.load() - before == 0);
  CHECK(lines.empty());
  // The counter does see a line being built.
  detail::write_log(filtering, log_level::error, [&] { return "connecting to " + broker + " failed: refused"; });
  CHECK(allocations.load() - before > 0);
}

TEST_CASE("packet trace lines: type, flags, packet identifier, reason, size", "[logging]") {
  SECTION("PUBLISH: QoS and identifier, never the topic or the payload") {
    const auto line = detail::describe_packet(publish_qos1, protocol_version::v5);
    CHECK(line == "PUBLISH qos 1 id 12, 16 bytes");
  }
  SECTION("PUBLISH at QoS 0, retained and DUP flags") {
    const bytes qos0_retained = {0x31, 0x05, 0x00, 0x01, 't', 'h', 'i'};
    CHECK(detail::describe_packet(qos0_retained, protocol_version::v3_1_1) == "PUBLISH qos 0 retain, 7 bytes");
    const bytes qos2_dup = {0x3C, 0x05, 0x00, 0x01, 't', 0x00, 0x07};
    CHECK(detail::describe_packet(qos2_dup, protocol_version::v3_1_1) == "PUBLISH qos 2 dup id 7, 7 bytes");
  }
  SECTION("acknowledgements, with the MQTT 5 reason code when there is one") {
    const bytes puback = {0x40, 0x02, 0x00, 0x0C};
    CHECK(detail::describe_packet(puback, protocol_version::v5) == "PUBACK id 12, 4 bytes");
    const bytes puback_refused = {0x40, 0x03, 0x00, 0x0C, 0x87};
    CHECK(detail::describe_packet(puback_refused, protocol_version::v5) == "PUBACK id 12 Not authorized, 5 bytes");
    const bytes suback = {0x90, 0x04, 0x00, 0x02, 0x00, 0x01};
    CHECK(detail::describe_packet(suback, protocol_version::v5) == "SUBACK id 2, 6 bytes");
  }
  SECTION("CONNACK: session present and the reason (3.1.1: the return code)") {
    const bytes connack_v5 = {0x20, 0x03, 0x01, 0x00, 0x00};
    CHECK(detail::describe_packet(connack_v5, protocol_version::v5) == "CONNACK session present Success, 5 bytes");
    const bytes connack_v311 = {0x20, 0x02, 0x00, 0x05};
    CHECK(detail::describe_packet(connack_v311, protocol_version::v3_1_1) == "CONNACK return code 5, 4 bytes");
  }
  SECTION("CONNECT: nothing of its credentials") {
    // MQTT 3.1.1 CONNECT, client id "c", user "u", password "hunter2".
    const bytes connect = {0x10, 0x19, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0xC2, 0x00, 0x3C, 0x00, 0x01,
                           'c',  0x00, 0x01, 'u',  0x00, 0x07, 'h', 'u', 'n', 't', 'e', 'r', '2'};
    const auto line = detail::describe_packet(connect, protocol_version::v3_1_1);
    CHECK(line == "CONNECT, 27 bytes");
  }
  SECTION("one write carrying several packets gives one line each") {
    std::vector<recorded_line> lines;
    const auto options = recording_into(lines, log_level::trace);
    bytes coalesced = publish_qos1;
    coalesced.insert(coalesced.end(), {0xC0, 0x00});  // PINGREQ
    coalesced.insert(coalesced.end(), {0x62, 0x02, 0x00, 0x05});  // PUBREL id 5
    detail::log_packets(options, "sent", coalesced, protocol_version::v5);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].text == "sent PUBLISH qos 1 id 12, 16 bytes");
    CHECK(lines[1].text == "sent PINGREQ, 2 bytes");
    CHECK(lines[2].text == "sent PUBREL id 5, 4 bytes");
    for (const auto& l : lines) CHECK(l.level == log_level::trace);
  }
}
