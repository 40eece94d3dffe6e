// Which broker the next attempt goes to (lib/client/broker_rotation.hpp): round robin over the configured
// brokers after each failure, and an MQTT 5 Server Reference [MQTT-4.11] for the next attempt only.
#include "client/broker_rotation.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace coromqtt;
using namespace coromqtt::detail;

namespace {

endpoint parsed(const std::string& url) {
  boost::system::error_code ec;
  auto e = endpoint::parse(url, ec);
  REQUIRE(e);
  return *e;
}

broker_rotation rotation_of(const std::vector<std::string>& urls) {
  std::vector<endpoint> brokers;
  for (const auto& url : urls) brokers.push_back(parsed(url));
  return broker_rotation{std::move(brokers)};
}

}  // namespace

TEST_CASE("broker rotation: the configured brokers in turn, moving on after each failure", "[client][brokers]") {
  auto r = rotation_of({"mqtt://a:1883", "mqtts://b:8883", "ws://c:80/mqtt"});
  CHECK(r.next().to_string() == "mqtt://a:1883");
  r.failed(r.next(), reason_code::success, {}, true);
  CHECK(r.next().to_string() == "mqtts://b:8883");
  r.connected();  // a connection that then breaks also moves on
  CHECK(r.next().to_string() == "mqtts://b:8883");
  r.failed(r.next(), reason_code::success, {}, true);
  CHECK(r.next().to_string() == "ws://c:80/mqtt");
  r.failed(r.next(), reason_code::server_unavailable, {}, true);
  CHECK(r.next().to_string() == "mqtt://a:1883");  // and around
}

TEST_CASE("broker rotation: a Server Reference is the next attempt's broker, once", "[client][brokers]") {
  auto r = rotation_of({"ws://a:80/mqtt", "mqtt://b:1883"});
  const auto from = r.next();

  SECTION("a host and port take the current scheme and WebSocket path") {
    r.failed(from, reason_code::use_another_server, "other:8080", true);
    CHECK(r.next().to_string() == "ws://other:8080/mqtt");
  }
  SECTION("a URL is taken as it is; of a list, the first") {
    r.failed(from, reason_code::server_moved, "mqtts://moved:8883 mqtt://second:1883", true);
    CHECK(r.next().to_string() == "mqtts://moved:8883");
  }
  SECTION("followed, then accepted: the rotation goes on from where it was") {
    r.failed(from, reason_code::use_another_server, "other:8080", true);
    r.connected();
    CHECK(r.next().to_string() == "ws://a:80/mqtt");
  }
  SECTION("followed, then the redirect fails too: the next configured broker") {
    r.failed(from, reason_code::use_another_server, "other:8080", true);
    r.failed(r.next(), reason_code::success, {}, true);
    CHECK(r.next().to_string() == "mqtt://b:1883");
  }
  SECTION("not followed: when the options say no, for other reasons, or when it does not parse") {
    struct not_followed {
      const char* why;
      reason_code reason;
      const char* reference;
      bool follow;
    };
    const auto c = GENERATE(values<not_followed>({{"option off", reason_code::use_another_server, "other:8080", false},
                                                  {"another reason", reason_code::server_busy, "other:8080", true},
                                                  {"no reference", reason_code::server_moved, "", true},
                                                  {"unparsable", reason_code::server_moved, "user:pw@host:1", true}}));
    CAPTURE(c.why);
    r.failed(from, c.reason, c.reference, c.follow);
    CHECK(r.next().to_string() == "mqtt://b:1883");
  }
}
