// Topic names, topic filters and matching [MQTT-4.7], shared subscriptions [MQTT-4.8.2].
#include "helpers.hpp"

namespace coromqtt::protocol::test {
namespace {

TEST_CASE("Topic name validation [MQTT-4.7.0-1] [MQTT-4.7.3-1] [MQTT-4.7.3-2] [MQTT-4.7.3-3]", "[topic]") {
  const std::pair<std::string_view, std::error_code> table[] = {
      {"sport/tennis/player1", {}},
      {"/", {}},
      {"//", {}},
      {"/finance", {}},
      {"$SYS/broker/load", {}},
      {"a b", {}},
      {"\xEF\xBB\xBF", {}},  // U+FEFF alone is a valid topic [MQTT-1.5.4-3]
      {"caf\xC3\xA9/\xF0\x9F\x98\x80", {}},
      {"", error::invalid_topic_name},
      {"sport/+", error::invalid_topic_name},
      {"sport/#", error::invalid_topic_name},
      {"#", error::invalid_topic_name},
      {"a+b", error::invalid_topic_name},
      {std::string_view("a\0b", 3), error::utf8_null_character},
      {"\xC0\xAF", error::invalid_utf8},
  };
  for (const auto& [topic, expected] : table) {
    CAPTURE(topic);
    CHECK(validate_topic_name(topic) == expected);
  }
  const std::string longest(65'535, 'a');
  CHECK_FALSE(validate_topic_name(longest));
  CHECK(validate_topic_name(longest + "a") == error::invalid_topic_name);
}

TEST_CASE("A wildcard is found at every position of topic names of every length [MQTT-4.7.0-1]", "[topic]") {
  for (std::size_t length = 1; length < 24; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      CAPTURE(length, at);
      std::string topic(length, 'a');
      CHECK_FALSE(validate_topic_name(topic));
      for (const char wildcard : {'+', '#'}) {
        topic[at] = wildcard;
        CHECK(validate_topic_name(topic) == error::invalid_topic_name);
      }
    }
  }
}

TEST_CASE("Topic filter validation [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.8.2-1] [MQTT-4.8.2-2]", "[topic]") {
  const std::pair<std::string_view, std::error_code> table[] = {
      {"sport/tennis/player1/#", {}},
      {"sport/#", {}},
      {"#", {}},
      {"+", {}},
      {"+/tennis/#", {}},
      {"sport/+/player1", {}},
      {"/+", {}},
      {"+/+", {}},
      {"$SYS/#", {}},
      {"$share", {}},  // not a shared subscription: just a filter
      {"$share/group/sport/#", {}},
      {"$share/g/+", {}},
      {"$share/g//", {}},
      {"", error::invalid_topic_filter},
      {"sport/tennis#", error::invalid_topic_filter},
      {"sport/tennis/#/ranking", error::invalid_topic_filter},
      {"#/", error::invalid_topic_filter},
      {"sport+", error::invalid_topic_filter},
      {"sport/+tennis", error::invalid_topic_filter},
      {"++", error::invalid_topic_filter},
      {"$share/", error::invalid_topic_filter},
      {"$share/group", error::invalid_topic_filter},
      {"$share//sport", error::invalid_topic_filter},
      {"$share/group/", error::invalid_topic_filter},
      {"$share/gr+oup/sport", error::invalid_topic_filter},
      {"$share/gr#/sport", error::invalid_topic_filter},
      {"$share/group/sport/#/x", error::invalid_topic_filter},
      {std::string_view("a/\0", 3), error::utf8_null_character},
      {"\xED\xA0\x80", error::invalid_utf8},
  };
  for (const auto& [filter, expected] : table) {
    CAPTURE(filter);
    CHECK(validate_topic_filter(filter) == expected);
  }
  CHECK(validate_topic_filter(std::string(65'536, 'a')) == error::invalid_topic_filter);
}

TEST_CASE("Topic matching [MQTT-4.7.1] [MQTT-4.7.2-1] [MQTT-4.7.3-4]", "[topic]") {
  struct row {
    std::string_view filter, topic;
    bool matches;
  };
  const row table[] = {
      {"sport/tennis/player1/#", "sport/tennis/player1", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
      {"sport/#", "sport", true},  // '#' includes the parent level
      {"sport/#", "sports", false},
      {"#", "sport/tennis", true},
      {"#", "/", true},
      {"sport/tennis/+", "sport/tennis/player1", true},
      {"sport/tennis/+", "sport/tennis/player1/ranking", false},
      {"sport/+", "sport", false},
      {"sport/+", "sport/", true},
      {"+", "sport", true},
      {"+", "/finance", false},
      {"+/+", "/finance", true},
      {"/+", "/finance", true},
      {"+/tennis/#", "sport/tennis/x", true},
      {"a/b", "a/b", true},
      {"a/b", "a/b/", false},
      {"a/b", "A/b", false},  // no normalisation [MQTT-4.7.3-4]
      {"a//b", "a//b", true},
      {"a/+/b", "a//b", true},
      {"#", "$SYS/monitor/Clients", false},  // [MQTT-4.7.2-1]
      {"+/monitor/Clients", "$SYS/monitor/Clients", false},
      {"$SYS/#", "$SYS/monitor/Clients", true},
      {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
      {"a/#", "a/$b", true},  // only a leading '$' is special
      {"$share/g/sport/#", "sport/tennis", true},  // a shared filter matches by its inner filter
      {"$share/g/#", "$SYS/x", false},
      {"$share/g/a", "a", true},
      {"$share/g/a", "$share/g/a", false},  // found by the fuzzer: the inner filter "a" is what matches
      {"$share/c////bH", "///bH", true},
      {"caf\xC3\xA9/+", "caf\xC3\xA9/x", true},
  };
  for (const row& r : table) {
    CAPTURE(r.filter, r.topic);
    CHECK(topic_matches(r.filter, r.topic) == r.matches);
  }
}

TEST_CASE("Shared subscription parsing [MQTT-4.8.2]", "[topic]") {
  const auto shared = parse_shared_subscription("$share/consumers/sport/+/player1");
  REQUIRE(shared);
  CHECK(shared->share_name == "consumers");
  CHECK(shared->filter == "sport/+/player1");
  CHECK_FALSE(parse_shared_subscription("sport/tennis"));
  CHECK_FALSE(parse_shared_subscription("$share"));
  CHECK_FALSE(parse_shared_subscription("$share/group"));
  CHECK_FALSE(parse_shared_subscription("$SHARE/group/x"));
}

}  // namespace
}  // namespace coromqtt::protocol::test
