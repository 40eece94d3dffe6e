// What each QoS promises, checked while connections are cut under the client: at random moments (FIN or RST),
// in the middle of a packet in either direction, and on slow, delayed links. The publisher and the subscriber
// keep their sessions (MQTT 5 Session Expiry Interval > 0, MQTT 3.1.1 Clean Session = 0), so the broker and
// the client resume them: QoS 1 arrives at least once, QoS 2 exactly once, and both in the order published
// as far as the standard orders them (MQTT 5.0 section 4.6, MQTT 3.1.1 section 4.6).
#include "fault_support.hpp"

using namespace coromqtt;
using namespace coromqtt::test;

namespace {

const auto both_versions = {protocol_version::v3_1_1, protocol_version::v5};

// A subscriber with a persistent session on `filter` at `granted` QoS, connected through `url`.
client_options subscriber_options(const mosquitto& broker, protocol_version version, std::string id,
                                  std::string url) {
  auto o = options_for(broker, version, std::move(id));
  o.brokers = {std::move(url)};
  make_session_persistent(o);
  o.reconnect.initial_delay = 10ms;
  o.reconnect.maximum_delay = 100ms;
  return o;
}

// The checks of one run: QoS 1 complete with its final copies in order, QoS 2 complete, once each, in order.
void check_delivery(const topic_record& qos1, const topic_record& qos2, std::int64_t expected) {
  INFO("QoS 1: " << qos1.summary(expected));
  INFO("QoS 2: " << qos2.summary(expected));
  CHECK(qos1.corrupted() == 0);
  CHECK(qos2.corrupted() == 0);
  CHECK(qos1.missing(expected).empty());                 // at least once
  CHECK(qos1.first_final_copy_out_of_order() == -1);     // final copies in order [MQTT-4.6.0-6]
  CHECK(qos2.missing(expected).empty());
  CHECK(qos2.duplicates() == 0);                         // exactly once
  CHECK(qos2.strictly_increasing());                     // and in order
}

}  // namespace

TEST_CASE("Random cuts every 100-500 ms: QoS 1 at least once, QoS 2 exactly once, in order",
          "[fault][delivery][cuts]") {
  // 10,000 messages at each QoS from one publisher. The subscriber is connected straight to the broker in the
  // first section and through a second proxy, cut on its own schedule, in the second: then the broker
  // retransmits to it, and the client's incoming QoS 2 state is what prevents duplicates.
  constexpr std::int64_t per_qos = 10'000;
  mosquitto broker{{.max_queued_messages = 1'000'000}};
  for (const auto version : both_versions) {
    for (const bool subscriber_cut_too : {false, true}) {
      DYNAMIC_SECTION(name_of(version) << (subscriber_cut_too ? ", both sides cut" : ", publisher cut")) {
        const auto seed = fault_seed("random cuts " + name_of(version) + (subscriber_cut_too ? " both" : ""));
        CAPTURE(seed);
        fault::proxy publisher_link{"127.0.0.1", broker.port(listener::tcp)};
        fault::proxy subscriber_link{"127.0.0.1", broker.port(listener::tcp)};
        const std::string tag = name_of(version) + (subscriber_cut_too ? "-both" : "-pub");
        run_async(
            [&](asio::io_context& io) -> asio::awaitable<void> {
              const auto sub_url = subscriber_cut_too ? url_of(subscriber_link) : broker.url(listener::tcp);
              client subscriber{io, subscriber_options(broker, version, "sub-" + tag, sub_url)};
              client publisher{io, subscriber_options(broker, version, "pub-" + tag, url_of(publisher_link))};
              co_await subscriber.co_connect();
              std::vector<subscription> filters{{"cuts/" + tag + "/q1", {qos::at_least_once}},
                                                {"cuts/" + tag + "/q2", {qos::exactly_once}}};
              co_await subscriber.co_subscribe(std::move(filters));
              co_await publisher.co_connect();
              event_log publisher_events{publisher};
              asio::co_spawn(io, publisher_events.run(), asio::detached);

              random_cuts publisher_cuts{publisher_link, seed, 100ms, 500ms};
              random_cuts subscriber_cuts{subscriber_link, seed + 1, 100ms, 500ms};
              asio::co_spawn(io, publisher_cuts.run(), asio::detached);
              if (subscriber_cut_too) asio::co_spawn(io, subscriber_cuts.run(), asio::detached);

              // Everything is issued at once, interleaved: the inflight window and the broker's Receive
              // Maximum hold the rest back, so the window is full whenever a cut strikes.
              publish_tally tally;
              for (std::int64_t i = 0; i < per_qos; ++i) {
                const auto seq = static_cast<std::uint32_t>(i);
                tally.publish(publisher, make_message("cuts/" + tag + "/q1", numbered_payload(seq), qos::at_least_once));
                tally.publish(publisher, make_message("cuts/" + tag + "/q2", numbered_payload(seq), qos::exactly_once));
              }

              std::map<std::string, topic_record> received;
              auto& q1 = received["cuts/" + tag + "/q1"];
              auto& q2 = received["cuts/" + tag + "/q2"];
              // Receive while publishing: the subscriber's queue in the broker stays short.
              const bool all_received = co_await receive_until(
                  subscriber, received, [&] { return q1.distinct() >= per_qos && q2.distinct() >= per_qos; });
              const bool all_completed = co_await eventually([&] { return tally.all_done(); }, 30s);
              if (!all_received || !all_completed) {  // DEBUG
                const auto st = publisher.statistics();
                std::cerr << "STALL: connected " << st.connected << " inflight " << st.inflight << " window "
                          << st.window_in_use << " queued " << st.queued_messages << " wbuf " << st.write_buffer_bytes
                          << " tally " << tally.summary() << "\nstory: " << publisher_events.story() << "\n"
                          << "proxy open " << publisher_link.counters().connections_open << " accepted "
                          << publisher_link.counters().connections_accepted << " port " << publisher_link.port() << "\n";
                std::system(("ss -tanpi | grep -A1 " + std::to_string(publisher_link.port()) + " 1>&2").c_str());
              }
              co_await publisher_cuts.stop();
              co_await publisher_events.stop();
              co_await subscriber_cuts.stop();
              // Duplicates the broker had already queued arrive behind a last message on each topic (per-topic
              // order), so once both last messages are in, nothing of this run is still on its way.
              co_await publisher.co_publish("cuts/" + tag + "/q1", numbered_payload(per_qos), qos::at_least_once);
              co_await publisher.co_publish("cuts/" + tag + "/q2", numbered_payload(per_qos), qos::exactly_once);
              const bool drained = co_await receive_until(subscriber, received, [&] {
                return q1.has(per_qos) && q2.has(per_qos);
              });

              const auto pub_stats = publisher.statistics();
              const auto sub_stats = subscriber.statistics();
              INFO("publish: " << tally.summary());
              INFO("publisher: " << describe(pub_stats) << "; cuts " << publisher_cuts.cuts());
              INFO("subscriber: " << describe(sub_stats) << "; cuts " << subscriber_cuts.cuts());
              std::cerr << "[fault] random cuts " << tag << ": publisher cut " << publisher_cuts.cuts()
                        << " times, subscriber " << subscriber_cuts.cuts() << "; publisher " << describe(pub_stats)
                        << "; subscriber " << describe(sub_stats) << "; QoS 1 duplicates " << q1.duplicates()
                        << "\n";
              CHECK(all_received);
              CHECK(all_completed);
              CHECK(drained);
              CHECK(tally.failed == 0);
              CHECK(tally.succeeded == static_cast<std::uint64_t>(2 * per_qos));
              check_delivery(q1, q2, per_qos);
              std::ofstream("/tmp/fault-broker-" + tag + ".log") << broker.log();  // DEBUG
              {
                std::ofstream dump("/tmp/fault-arrivals-" + tag + ".txt");  // DEBUG
                for (auto s : q1.arrivals()) dump << "q1 " << s << "\n";
                for (auto s : q2.arrivals()) dump << "q2 " << s << "\n";
              }

              // The faults really happened, and the session carried the messages across them.
              CHECK(publisher_cuts.cuts() >= 3);
              CHECK(pub_stats.connects >= 3);
              CHECK(pub_stats.retransmitted > 0);  // PUBLISH (DUP) or PUBREL sent again on a resumed session
              CHECK(pub_stats.resent == 0);        // the broker never lost the session
              CHECK(pub_stats.resubscribed == 0);
              CHECK(pub_stats.publishes_acked == static_cast<std::uint64_t>(2 * per_qos + 2));
              if (subscriber_cut_too) {
                CHECK(subscriber_cuts.cuts() >= 3);
                CHECK(sub_stats.connects >= 3);
              }
            },
            240s);
      }
    }
  }
}
