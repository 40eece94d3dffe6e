// Every call shape the header and the guide document, written as a user writes it: arguments built in braces
// inside the co_await expression, each completion token, the default token. With g++ 12 braced aggregate
// temporaries in a co_await were destroyed twice (issue 13.1) and braced lists that make an initializer_list
// did not compile: this file compiles with the project's warnings (-Wextra: no missing field initializers) and
// runs in CI under ASan+UBSan, against a real mosquitto. Each shape's effect is checked at the broker's other
// end: the message arrives, the subscription delivers, the unsubscription stops delivery.
#include "client_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>
#include <string>
#include <vector>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

// Longer than the small-string buffer, so that a double destruction frees heap memory twice (ASan reports it).
const std::string long_payload(64, 'x');

// Receives messages until `expected` payloads (in any order) have arrived, or fails after 5 s.
asio::awaitable<std::multiset<std::string>> receive_payloads(client& c, std::size_t expected) {
  std::multiset<std::string> payloads;
  while (payloads.size() < expected) {
    auto m = co_await receive_within(c, 5s);
    if (!m) break;
    payloads.insert(m->topic + "=" + m->payload);
  }
  co_return payloads;
}

}  // namespace

TEST_CASE("publish call shapes: braced temporaries inside co_await, every completion token", "[call-shapes]") {
  mosquitto broker;
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      client subscriber{io, options_for(broker, version, "shapes-sub")};
      client publisher{io, options_for(broker, version, "shapes-pub")};
      co_await subscriber.co_connect();
      co_await publisher.co_connect();
      co_await subscriber.co_subscribe("shapes/#", qos::exactly_once);

      co_await publisher.co_publish(coromqtt::message{"shapes/1", long_payload});
      co_await publisher.co_publish(coromqtt::message{"shapes/2", long_payload, qos::at_least_once});
      co_await publisher.co_publish({"shapes/3", long_payload, qos::exactly_once, false, {}});
      co_await publisher.co_publish("shapes/4", long_payload, qos::at_least_once);
      co_await publisher.async_publish(coromqtt::message{"shapes/5", long_payload, qos::at_least_once},
                                       asio::use_awaitable);
      co_await publisher.async_publish(coromqtt::message{"shapes/6", long_payload, qos::exactly_once},
                                       asio::deferred);
      co_await publisher.async_publish(coromqtt::message{"shapes/7", long_payload, qos::at_least_once});
      auto [error8, result8] = co_await publisher.async_publish(
          coromqtt::message{"shapes/8", long_payload, qos::at_least_once}, asio::as_tuple(asio::use_awaitable));
      CHECK_FALSE(error8);
      CHECK(result8.reason == reason_code::success);
      auto [error9, result9] = co_await publisher.async_publish(
          coromqtt::message{"shapes/9", long_payload, qos::exactly_once}, asio::as_tuple(asio::deferred));
      CHECK_FALSE(error9);
      (void)result9;
      // The deferred default, launched later with a callback.
      auto later = publisher.async_publish(coromqtt::message{"shapes/10", long_payload, qos::at_least_once});
      bool called = false;
      std::move(later)([&](error_code ec, publish_result) {
        CHECK_FALSE(ec);
        called = true;
      });
      const bool acknowledged = co_await eventually([&] { return called; });
      CHECK(acknowledged);

      const auto payloads = co_await receive_payloads(subscriber, 10);
      std::multiset<std::string> expected;
      for (int i = 1; i <= 10; ++i) expected.insert("shapes/" + std::to_string(i) + "=" + long_payload);
      CHECK(payloads == expected);

      co_await publisher.co_disconnect({reason_code::success});
      co_await subscriber.co_disconnect();
    });
  }
}

TEST_CASE("subscribe and unsubscribe call shapes: one filter, several in braces, a vector", "[call-shapes]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client subscriber{io, options_for(broker, protocol_version::v5, "shapes-sub")};
    client publisher{io, options_for(broker, protocol_version::v5, "shapes-pub")};
    co_await subscriber.co_connect();
    co_await publisher.co_connect();

    const auto one = co_await subscriber.co_subscribe({{"a/" + long_payload, qos::at_least_once}});
    CHECK(one.reasons == std::vector{reason_code::granted_qos_1});
    const auto two = co_await subscriber.co_subscribe(
        {{"b/" + long_payload, qos::exactly_once}, {"c/" + long_payload, subscribe_options{qos::at_most_once, true}}});
    CHECK(two.reasons == std::vector{reason_code::granted_qos_2, reason_code::success});
    const auto identified = co_await subscriber.co_subscribe({{"d/#", qos::at_least_once}}, subscribe_properties{7});
    CHECK(identified.reasons == std::vector{reason_code::granted_qos_1});
    std::vector<subscription> named{{"e/1", qos::at_least_once}, {"e/2", qos::at_least_once}};
    const auto from_vector = co_await subscriber.co_subscribe(named);
    CHECK(from_vector.reasons.size() == 2);
    const auto [subscribe_error, from_async] =
        co_await subscriber.async_subscribe({{"f/#", qos::at_least_once}}, asio::as_tuple(asio::deferred));
    CHECK_FALSE(subscribe_error);
    CHECK(from_async.reasons == std::vector{reason_code::granted_qos_1});

    const std::vector<std::string> subscribed{"a/" + long_payload, "b/" + long_payload, "c/" + long_payload,
                                              "d/x", "e/1", "e/2", "f/x"};
    for (const auto& topic : subscribed) co_await publisher.co_publish(topic, "1", qos::at_least_once);
    const auto first_round = co_await receive_payloads(subscriber, 7);
    CHECK(first_round.size() == 7);

    const auto single = co_await subscriber.co_unsubscribe("a/" + long_payload);
    CHECK(single.reasons == std::vector{reason_code::success});
    const auto braced_one = co_await subscriber.co_unsubscribe({"d/#"});
    CHECK(braced_one.reasons == std::vector{reason_code::success});
    const auto braced_two = co_await subscriber.co_unsubscribe({"b/" + long_payload, "c/" + long_payload});
    CHECK(braced_two.reasons.size() == 2);
    std::vector<std::string> named_filters{"e/1", "e/2"};
    const auto vector_form = co_await subscriber.co_unsubscribe(named_filters);
    CHECK(vector_form.reasons.size() == 2);
    // The default token (deferred): the awaited result, errors thrown.
    const auto async_form = co_await subscriber.async_unsubscribe("f/#");
    CHECK(async_form.reasons == std::vector{reason_code::success});

    // Nothing is subscribed any more: a marker on a fresh subscription is the only message that comes.
    for (const auto& topic : subscribed) co_await publisher.co_publish(topic, "2", qos::at_least_once);
    co_await subscriber.co_subscribe("marker", qos::at_least_once);
    co_await publisher.co_publish("marker", "end", qos::at_least_once);
    const auto after = co_await receive_within(subscriber, 5s);
    REQUIRE(after);
    CHECK(after->topic == "marker");

    co_await publisher.co_disconnect(disconnect_options{reason_code::success});
    co_await subscriber.async_disconnect();
  });
}

TEST_CASE("a will built in braces, a disconnect that keeps it: the will is published", "[call-shapes]") {
  mosquitto broker;
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    client watcher{io, options_for(broker, protocol_version::v5, "shapes-watcher")};
    co_await watcher.co_connect();
    co_await watcher.co_subscribe({{"will/shapes", qos::at_least_once}});

    auto options = options_for(broker, protocol_version::v5, "shapes-dying");
    options.will = will_message{"will/shapes", long_payload, qos::at_least_once};
    client dying{io, std::move(options)};
    co_await dying.co_connect();
    co_await dying.co_disconnect({reason_code::disconnect_with_will_message, true});

    const auto will = co_await receive_within(watcher, 5s);
    REQUIRE(will);
    CHECK(will->payload == long_payload);
    co_await watcher.co_disconnect();
  });
}
