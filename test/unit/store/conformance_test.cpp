// The conformance test of session stores: what every session_store must do, run against each implementation.
// A store of your own passes it by adding a factory to the list below.
#include "store_harness.hpp"

#include <coromqtt/error.hpp>

using namespace coromqtt;
using namespace coromqtt::test;
using type = store_record::type;

#define STORES memory_factory, file_factory

TEMPLATE_TEST_CASE("a new store is empty", "[store][conformance]", STORES) {
  TestType factory;
  auto store = factory.make();
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  CHECK_FALSE(r.session_established);
  CHECK(r.last_seq == 0);
  CHECK(r.messages == 0);
  CHECK(r.flights.empty());
  CHECK(r.incoming.empty());
  CHECK(read_all(*store).empty());
  store->close();
}

TEMPLATE_TEST_CASE("a store holds one client at a time", "[store][conformance]", STORES) {
  TestType factory;
  auto store = factory.make();
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  auto second = factory.restart();
  recovered_session r2;
  CHECK(second->open(r2) == error::store_locked);
  store->close();
  CHECK_FALSE(second->open(r2));
  second->close();
}

TEMPLATE_TEST_CASE("what was written is recovered after a restart", "[store][conformance]", STORES) {
  TestType factory;
  auto m1 = make_message("a/1", "one");
  auto m2 = make_message("a/2", std::string(3000, 'x'), qos::exactly_once);
  m2.retain = true;
  m2.properties.message_expiry_interval = 60;
  m2.properties.content_type = "text/plain";
  m2.properties.correlation_data = std::string("\0\1\2", 3);
  m2.properties.user_properties = {{"k", "v"}, {"k", "w"}};
  auto m3 = make_message("a/3", "three", qos::exactly_once);
  auto m4 = make_message("a/4", "four");
  {
    auto store = factory.make();
    recovered_session r;
    REQUIRE_FALSE(store->open(r));
    store_record subs;
    subs.what = type::subscriptions;
    subs.subscriptions.push_back({{"s/#", {qos::exactly_once, true, false, retain_handling::dont_send}}, 7});
    std::vector<store_record> batch{session_record("client-7"), subs,         added(1, m1), added(2, m2),
                                    added(3, m3),               added(4, m4), sent(1, 10),  sent(2, 11),
                                    sent(3, 12),                released(3)};
    REQUIRE_FALSE(store->write(batch));
    std::vector<store_record> second{done(1, m1), simple(type::incoming_received, 0, 500),
                                     simple(type::incoming_received, 0, 20), simple(type::incoming_received, 0, 21),
                                     simple(type::incoming_released, 0, 21)};
    REQUIRE_FALSE(store->write(second));
    store->close();
  }
  auto store = factory.restart();
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  CHECK(r.session_established);
  CHECK(r.client_id == "client-7");
  REQUIRE(r.subscriptions.size() == 1);
  CHECK(r.subscriptions[0].subscription.filter == "s/#");
  CHECK(r.subscriptions[0].subscription.options.no_local);
  CHECK(r.subscriptions[0].subscription.options.retain_handling == retain_handling::dont_send);
  CHECK(r.subscriptions[0].subscription_identifier == 7u);
  CHECK(r.incoming == std::vector<std::uint16_t>{20, 500});
  CHECK(r.flights == std::vector<stored_flight>{{2, 11, stored_phase::sent}, {3, 12, stored_phase::released}});
  CHECK(r.last_seq == 4);
  CHECK(r.messages == 3);
  CHECK(r.bytes == stored_cost(m2) + stored_cost(m3) + stored_cost(m4));
  const auto all = read_all(*store);
  REQUIRE(all.size() == 3);
  CHECK(all[0].seq == 2);
  CHECK(all[0].message == m2);
  CHECK(all[1].message == m3);
  CHECK(all[2].message == m4);
  store->close();
}

TEMPLATE_TEST_CASE("a lost session voids identifiers, keeps messages", "[store][conformance]", STORES) {
  TestType factory;
  auto store = factory.make();
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  const auto m = make_message("t", "p");
  std::vector<store_record> batch{session_record("c"), added(1, m), sent(1, 1), simple(type::incoming_received, 0, 9),
                                  simple(type::session_cleared)};
  REQUIRE_FALSE(store->write(batch));
  store->close();
  store = factory.restart();
  REQUIRE_FALSE(store->open(r));
  CHECK_FALSE(r.session_established);
  CHECK(r.flights.empty());
  CHECK(r.incoming.empty());
  CHECK(r.messages == 1);
  CHECK(read_all(*store).size() == 1);
  store->close();
}

TEMPLATE_TEST_CASE("reading back: in order, within after/upto, count and bytes, done ones skipped",
                   "[store][conformance]", STORES) {
  TestType factory;
  auto store = factory.make();
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  std::vector<store_record> batch;
  for (std::uint64_t seq = 1; seq <= 100; ++seq)
    batch.push_back(added(seq, make_message("t", std::to_string(seq))));
  for (std::uint64_t seq = 10; seq <= 20; ++seq) batch.push_back(done(seq, make_message("t", std::to_string(seq))));
  REQUIRE_FALSE(store->write(batch));
  std::vector<stored_message> out;
  CHECK(store->read_messages(0, 100, 5, SIZE_MAX, out) == 5);
  CHECK(out.back().seq == 5);
  CHECK(store->read_messages(5, 100, 10, SIZE_MAX, out) == 10);
  CHECK(out[5].seq == 6);
  CHECK(out[9].seq == 21);  // 10..20 are done
  CHECK(out.back().seq == 26);
  out.clear();
  CHECK(store->read_messages(90, 95, 100, SIZE_MAX, out) == 5);
  CHECK(out.front().seq == 91);
  CHECK(out.back().seq == 95);
  out.clear();
  // Bytes: at least one message, and stops once the total reaches the bound.
  CHECK(store->read_messages(0, 100, 100, 1, out) == 1);
  out.clear();
  const auto one = stored_cost(make_message("t", "1"));
  CHECK(store->read_messages(0, 100, 100, 3 * one, out) == 3);
  out.clear();
  CHECK(store->read_messages(100, UINT64_MAX, 10, SIZE_MAX, out) == 0);
  store->close();
}

TEMPLATE_TEST_CASE("records applied twice leave the same state", "[store][conformance]", STORES) {
  TestType factory;
  auto store = factory.make();
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  const auto m = make_message("t", "p", qos::exactly_once);
  std::vector<store_record> batch{added(1, m), added(2, m), sent(1, 4), released(1), done(2, m),
                                  simple(type::incoming_received, 0, 3)};
  REQUIRE_FALSE(store->write(batch));
  REQUIRE_FALSE(store->write(batch));  // a client writes a batch again after an error
  store->close();
  store = factory.restart();
  REQUIRE_FALSE(store->open(r));
  CHECK(r.messages == 1);
  CHECK(r.last_seq == 2);
  CHECK(r.flights == std::vector<stored_flight>{{1, 4, stored_phase::released}});
  CHECK(r.incoming == std::vector<std::uint16_t>{3});
  store->close();
}

TEMPLATE_TEST_CASE("a backlog of 20,000 messages reads back in order, across restarts", "[store][conformance]",
                   STORES) {
  TestType factory;
  auto store = factory.make();
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  std::uint64_t seq = 0;
  for (int b = 0; b < 20; ++b) {
    std::vector<store_record> batch;
    for (int i = 0; i < 1000; ++i) {
      ++seq;
      batch.push_back(added(seq, make_message("t/" + std::to_string(seq % 7), std::to_string(seq) + std::string(50, 'p'))));
    }
    REQUIRE_FALSE(store->write(batch));
  }
  // The first half is acknowledged.
  std::vector<store_record> acks;
  for (std::uint64_t s = 1; s <= 10'000; ++s)
    acks.push_back(done(s, make_message("t/" + std::to_string(s % 7), std::to_string(s) + std::string(50, 'p'))));
  REQUIRE_FALSE(store->write(acks));
  store->close();
  store = factory.restart();
  REQUIRE_FALSE(store->open(r));
  CHECK(r.messages == 10'000);
  CHECK(r.last_seq == 20'000);
  const auto all = read_all(*store, 777);
  REQUIRE(all.size() == 10'000);
  for (std::size_t i = 0; i < all.size(); ++i) {
    REQUIRE(all[i].seq == 10'001 + i);
    REQUIRE(all[i].message.payload.rfind(std::to_string(all[i].seq), 0) == 0);
  }
  store->close();
}
