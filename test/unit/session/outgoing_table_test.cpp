// The outgoing table on its own: packet identifiers cycle upwards, stay unique while in use, the storage stays
// compact, and the send order survives any pattern of releases.
#include "session/outgoing_table.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <random>
#include <set>
#include <vector>

using namespace coromqtt::detail;

namespace {

std::uint16_t take(outgoing_table& table) {
  const auto id = table.allocate();
  if (id != 0) table.entry(id).stage = awaiting::puback;
  return id;
}

std::vector<std::uint16_t> send_order(const outgoing_table& table) {
  std::vector<std::uint16_t> order;
  for (auto id = table.first(); id; id = table.next(id)) order.push_back(id);
  return order;
}

}  // namespace

TEST_CASE("outgoing_table: identifiers cycle upwards, a freed one is not reused at once [MQTT-2.2.1-3]",
          "[window][identifiers]") {
  outgoing_table table;
  const auto a = take(table);
  const auto b = take(table);
  const auto c = take(table);
  CHECK(std::vector<std::uint16_t>{a, b, c} == std::vector<std::uint16_t>{1, 2, 3});
  table.release(b);
  CHECK(table.find(b) == nullptr);
  const auto d = take(table);
  CHECK(d == 4);  // the next after the last one taken, not the lowest free (2)
  CHECK(send_order(table) == std::vector<std::uint16_t>{a, c, d});
  CHECK(table.size() == 3);
  CHECK(table.slot_count() == 3);  // the freed entry's storage was reused
}

TEST_CASE("outgoing_table: the cycle wraps from 65,535 to 1 and skips identifiers still in use",
          "[window][identifiers]") {
  outgoing_table table;
  const auto straggler = take(table);  // 1, never acknowledged
  REQUIRE(straggler == 1);
  const auto second = take(table);  // 2, also kept
  std::uint16_t last = second;
  // One at a time through the rest of the range: the storage stays at three entries.
  for (int i = 0; i < 65533; ++i) {
    const auto id = take(table);
    REQUIRE(id == last + 1);
    table.release(id);
    last = id;
  }
  CHECK(last == 65535);
  CHECK(table.slot_count() == 3);
  // 65,535 wraps to 1 and 2, both in use: the next free is 3.
  CHECK(take(table) == 3);
  table.release(straggler);
  CHECK(take(table) == 4);  // 1 is free again, but the cycle is past it
  CHECK(send_order(table) == std::vector<std::uint16_t>{2, 3, 4});
}

TEST_CASE("outgoing_table: a restored session claims its identifiers in send order; the cycle goes on after the "
          "last",
          "[window][identifiers][store]") {
  outgoing_table table;
  for (const std::uint16_t id : {65000, 65535, 2}) {
    REQUIRE(table.claim(id));
    table.entry(id).stage = awaiting::puback;
  }
  CHECK_FALSE(table.claim(2));  // in use already (a damaged store naming it twice)
  CHECK_FALSE(table.claim(0));
  CHECK(table.size() == 3);
  CHECK(table.slot_count() == 3);
  CHECK(table.find(65535) != nullptr);
  CHECK(send_order(table) == std::vector<std::uint16_t>{65000, 65535, 2});
  CHECK(take(table) == 3);
  table.release(65535);
  CHECK(send_order(table) == std::vector<std::uint16_t>{65000, 2, 3});
  CHECK(take(table) == 4);
}

TEST_CASE("outgoing_table: all 65,535 identifiers in use, then none left", "[window][identifiers]") {
  outgoing_table table;
  for (int i = 0; i < 65535; ++i) REQUIRE(take(table) != 0);
  CHECK(table.size() == 65535);
  CHECK(table.allocate() == 0);
  table.release(40000);
  CHECK(take(table) == 40000);  // the only one free
  CHECK(table.allocate() == 0);
}

TEST_CASE("outgoing_table: random acknowledgements keep identifiers unique, the order of first sending, and "
          "the storage at the most ever outstanding",
          "[window][identifiers]") {
  outgoing_table table;
  std::mt19937 random{2024};
  std::deque<std::uint16_t> expected_order;  // what the send order must be
  std::set<std::uint16_t> in_use;
  std::size_t most_outstanding = 0;
  std::uint16_t last = 0;
  for (int round = 0; round < 300'000; ++round) {
    const bool add = in_use.size() < 200 && (random() % 2 == 0 || in_use.empty());
    if (add) {
      const auto id = take(table);
      REQUIRE(id != 0);
      REQUIRE(in_use.insert(id).second);
      // The next free identifier after the previous one, cyclically.
      for (std::uint16_t skipped = last == 65535 ? 1 : last + 1; skipped != id;
           skipped = skipped == 65535 ? 1 : skipped + 1)
        REQUIRE(in_use.count(skipped) == 1);
      last = id;
      expected_order.push_back(id);
      most_outstanding = std::max(most_outstanding, in_use.size());
    } else {
      // Mostly the oldest (brokers acknowledge in order), sometimes any.
      const auto pick = random() % 4 == 0 ? random() % expected_order.size() : 0;
      const auto id = expected_order[pick];
      expected_order.erase(expected_order.begin() + static_cast<std::ptrdiff_t>(pick));
      in_use.erase(id);
      table.release(id);
      REQUIRE(table.find(id) == nullptr);
    }
    if (round % 1000 == 0) {
      REQUIRE(send_order(table) == std::vector<std::uint16_t>(expected_order.begin(), expected_order.end()));
      for (auto id : in_use) REQUIRE(table.find(id) != nullptr);
    }
  }
  CHECK(last != 0);
  CHECK(table.slot_count() == most_outstanding);
  CHECK(table.size() == in_use.size());
}
