// Outgoing topic aliases, least recently used: the table on its own, then the session's PUBLISH bytes.
#include "session_harness.hpp"

#include "session/topic_alias_table.hpp"

#include <map>
#include <random>

using namespace coromqtt;
using namespace coromqtt::test;

TEST_CASE("topic_alias_table: new topics take free aliases, then a topic missed twice takes the least recently "
          "used one",
          "[alias]") {
  detail::topic_alias_table table;
  auto use = [&](const std::string& topic) {
    const auto c = table.choose(topic, 2);
    table.commit(topic, c);
    return c;
  };
  auto a = use("a");
  CHECK((a.alias == 1 && !a.known));
  auto b = use("b");
  CHECK((b.alias == 2 && !b.known));
  a = use("a");
  CHECK((a.alias == 1 && a.known));
  // Full: a topic seen for the first time goes without an alias (the doorkeeper remembers it)...
  auto c = use("c");
  CHECK(c.alias == 0);
  CHECK(table.reassignments() == 0);
  // ...and on its next miss takes over the alias of "b", used less recently than "a".
  c = use("c");
  CHECK((c.alias == 2 && !c.known));
  CHECK(table.reassignments() == 1);
  CHECK(use("c").known);
  // "b" lost its alias; missed twice, it takes the one of "a" (least recent since "c" was used).
  CHECK(use("b").alias == 0);
  b = use("b");
  CHECK((b.alias == 1 && !b.known));
  CHECK_FALSE(table.choose("a", 2).known);
  CHECK(table.choose("b", 2).known);
  CHECK(table.size() == 2);
  SECTION("no aliases when the broker allows none") { CHECK(table.choose("z", 0).alias == 0); }
  SECTION("clear forgets every mapping") {
    table.clear();
    const auto again = table.choose("b", 2);
    CHECK((again.alias == 1 && !again.known));
  }
}

TEST_CASE("topic_alias_table: a random workload never maps two topics to one alias", "[alias]") {
  detail::topic_alias_table table;
  std::mt19937 random{7};
  std::map<std::uint16_t, std::string> broker_view;  // what the receiver has learnt
  for (int i = 0; i < 20'000; ++i) {
    const auto topic = "t/" + std::to_string(random() % 40);
    const auto c = table.choose(topic, 16);
    REQUIRE(c.alias <= 16);
    if (c.alias == 0)
      REQUIRE_FALSE(c.known);
    else if (c.known)
      REQUIRE(broker_view[c.alias] == topic);  // the receiver resolves the alias to the right topic
    else
      broker_view[c.alias] = topic;
    table.commit(topic, c);
  }
  CHECK(table.size() == 16);
}

namespace {

client_options with_auto_alias() {
  client_options o;
  o.auto_topic_alias = true;
  return o;
}

// Connects to a broker that allows `maximum` aliases.
void connect_allowing(harness& h, std::uint16_t maximum) {
  proto::connack ack;
  if (maximum) ack.properties.topic_alias_maximum = maximum;
  h.connect(ack);
}

// Publishes at QoS 0 and returns the PUBLISH as written.
written_packet publish_on(harness& h, std::string topic) {
  message m{std::move(topic), "p", qos::at_most_once, false, {}};
  error_code ec;
  REQUIRE(h.session->try_publish_now(m, h.now, ec));
  REQUIRE_FALSE(ec);
  return h.take_one();
}

}  // namespace

TEST_CASE("outgoing topic aliases, least recently used, on the wire [MQTT-3.3.2-8] [MQTT-3.3.2-9]",
          "[session][alias]") {
  harness h{with_auto_alias()};
  connect_allowing(h, 2);
  // First use: the topic and its new alias (property 0x23).
  auto w = publish_on(h, "sensors/a");
  CHECK(w.bytes == std::vector<std::uint8_t>{0x30, 0x10, 0x00, 0x09, 's', 'e', 'n', 's', 'o', 'r', 's', '/', 'a',
                                              0x03, 0x23, 0x00, 0x01, 'p'});
  // Again: an empty topic and the alias only.
  w = publish_on(h, "sensors/a");
  CHECK(w.bytes == std::vector<std::uint8_t>{0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, 'p'});
  publish_on(h, "sensors/b");  // alias 2
  publish_on(h, "sensors/a");  // alias 1, most recent
  // Full: sensors/c, new, goes in full without an alias...
  w = publish_on(h, "sensors/c");
  CHECK(w.as<proto::publish>().topic == "sensors/c");
  CHECK_FALSE(w.as<proto::publish>().properties.topic_alias);
  // ...and seen again takes over alias 2 (sensors/b is the least recently used), naming its topic once more.
  w = publish_on(h, "sensors/c");
  CHECK(w.as<proto::publish>().topic == "sensors/c");
  CHECK(w.as<proto::publish>().properties.topic_alias == 2);
  w = publish_on(h, "sensors/c");
  CHECK(w.as<proto::publish>().topic.empty());
  CHECK(w.as<proto::publish>().properties.topic_alias == 2);
  w = publish_on(h, "sensors/a");
  CHECK(w.as<proto::publish>().topic.empty());
  CHECK(w.as<proto::publish>().properties.topic_alias == 1);
  // sensors/b lost its alias: sent in full again, and on its second miss it takes the least recent alias (2).
  CHECK_FALSE(publish_on(h, "sensors/b").as<proto::publish>().properties.topic_alias);
  w = publish_on(h, "sensors/b");
  CHECK(w.as<proto::publish>().topic == "sensors/b");
  CHECK(w.as<proto::publish>().properties.topic_alias == 2);
}

TEST_CASE("outgoing topic aliases start afresh on every connection [MQTT-3.3.2-7]", "[session][alias]") {
  harness h{with_auto_alias()};
  connect_allowing(h, 4);
  publish_on(h, "x");
  CHECK(publish_on(h, "x").as<proto::publish>().topic.empty());
  h.session->end_connection(h.now);
  connect_allowing(h, 4);
  const auto w = publish_on(h, "x");
  CHECK(w.as<proto::publish>().topic == "x");
  CHECK(w.as<proto::publish>().properties.topic_alias == 1);
}

TEST_CASE("no outgoing topic alias without the option, or when the broker allows none", "[session][alias]") {
  SECTION("the broker's Topic Alias Maximum is 0 (absent)") {
    harness h{with_auto_alias()};
    connect_allowing(h, 0);
    const auto w = publish_on(h, "x");
    CHECK_FALSE(w.as<proto::publish>().properties.topic_alias);
  }
  SECTION("auto_topic_alias off") {
    harness h;
    connect_allowing(h, 4);
    publish_on(h, "x");
    CHECK_FALSE(publish_on(h, "x").as<proto::publish>().properties.topic_alias);
  }
}
