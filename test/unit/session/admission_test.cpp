// The publishers waiting for admission are a bounded queue too (issue 13.2): a QoS 1/2 publisher that finds the
// inflight window full, or the queue full, waits only while the waiting list is within the queue's bounds;
// beyond them it fails with error::queue_full, so no number of callers grows memory without limit.
#include "session_harness.hpp"

#include <boost/asio/error.hpp>

#include <deque>

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

client_options small_window(queue_full_policy policy) {
  client_options o;
  o.inflight_window = 2;
  o.max_queued_messages = 5;
  o.when_queue_full = policy;
  return o;
}

std::size_t failed_with_queue_full(const std::deque<recorded_publish>& ops) {
  std::size_t n = 0;
  for (const auto& op : ops) n += op.done() && *op.error == error::queue_full;
  return n;
}

}  // namespace

TEST_CASE("wait policy: publishers wait for the window up to the queue's bounds, then fail with queue_full",
          "[session][queue][admission]") {
  harness h{small_window(queue_full_policy::wait)};
  h.connect();
  std::deque<recorded_publish> ops(20);
  for (auto& op : ops) h.publish(op, "t", qos::at_least_once);
  // 2 in the window, 5 waiting (the bound of the queue, applied to the waiting list), 13 refused at once.
  CHECK(h.stats.window_in_use.get() == 2);
  h.session->update_gauges();
  CHECK(h.stats.waiting_publishers.get() == 5);
  CHECK(failed_with_queue_full(ops) == 13);
  for (std::size_t i = 0; i < 7; ++i) CHECK_FALSE(ops[i].done());

  // Every acknowledgement admits the next waiting publisher, in order; they all complete.
  for (std::uint16_t acked = 0; acked < 7; ++acked) {
    for (auto& w : h.take_written()) {
      if (w.type() != proto::packet_type::publish) continue;
      REQUIRE_FALSE(h.feed(ack_for<proto::puback>(w.as<proto::publish>().packet_id)));
    }
  }
  for (std::size_t i = 0; i < 7; ++i) {
    REQUIRE(ops[i].done());
    CHECK_FALSE(*ops[i].error);
  }
  h.session->update_gauges();
  CHECK(h.stats.waiting_publishers.get() == 0);
}

TEST_CASE("fail policy: waiting publishers count with the queued messages (the broker down, window full)",
          "[session][queue][admission]") {
  harness h{small_window(queue_full_policy::fail)};  // never connected: the offline queue
  std::deque<recorded_publish> ops(20);
  for (auto& op : ops) h.publish(op, "t", qos::at_least_once);
  // 2 queued with their window slots, 3 more waiting (5 in all, the queue's bound), the other 15 refused.
  CHECK(h.stats.queued_messages.get() == 2);
  h.session->update_gauges();
  CHECK(h.stats.waiting_publishers.get() == 3);
  CHECK(failed_with_queue_full(ops) == 15);
}

TEST_CASE("the waiting list's bytes are bounded by max_queued_bytes; one large publisher may always wait",
          "[session][queue][admission]") {
  auto o = small_window(queue_full_policy::wait);
  o.max_queued_messages = 1000;
  o.max_queued_bytes = 4096;
  harness h{o};
  h.connect();
  std::deque<recorded_publish> ops(6);
  h.publish(ops[0], "t", qos::at_least_once);
  h.publish(ops[1], "t", qos::at_least_once);  // the window is full now
  h.publish(ops[2], "t", qos::at_least_once, std::string(10'000, 'x'));  // larger than the bound, but alone
  CHECK_FALSE(ops[2].done());
  h.publish(ops[3], "t", qos::at_least_once, std::string(100, 'x'));
  REQUIRE(ops[3].done());
  CHECK(*ops[3].error == error::queue_full);
}

TEST_CASE("a cancelled or aborted waiting publisher leaves the waiting list's count", "[session][queue][admission]") {
  harness h{small_window(queue_full_policy::wait)};
  h.connect();
  std::deque<recorded_publish> ops(7);
  std::uint64_t serial = 1;
  for (auto& op : ops) {
    op.serial = serial++;
    h.publish(op, "t", qos::at_least_once);
  }
  h.session->update_gauges();
  REQUIRE(h.stats.waiting_publishers.get() == 5);
  CHECK(h.session->cancel(ops[4].serial) == detail::session::cancel_outcome::cancelled);
  REQUIRE(ops[4].done());
  CHECK(*ops[4].error == boost::asio::error::operation_aborted);
  h.session->update_gauges();
  CHECK(h.stats.waiting_publishers.get() == 4);
  // The freed place is taken by a new publisher; the next one is refused again.
  std::deque<recorded_publish> more(2);
  h.publish(more[0], "t", qos::at_least_once);
  h.publish(more[1], "t", qos::at_least_once);
  CHECK_FALSE(more[0].done());
  REQUIRE(more[1].done());
  CHECK(*more[1].error == error::queue_full);

  h.session->abort_all(boost::asio::error::operation_aborted);
  h.session->update_gauges();
  CHECK(h.stats.waiting_publishers.get() == 0);
}
