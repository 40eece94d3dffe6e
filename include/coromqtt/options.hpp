// Everything a client can be told, with the defaults it uses. Durations are std::chrono on steady_clock.
#pragma once

#include <coromqtt/authenticator.hpp>
#include <coromqtt/credentials.hpp>
#include <coromqtt/endpoint.hpp>
#include <coromqtt/log.hpp>
#include <coromqtt/message.hpp>
#include <coromqtt/reconnect.hpp>
#include <coromqtt/store.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coromqtt {

// The last will [MQTT-3.1.2.5]: published by the broker when the connection ends without a normal DISCONNECT.
// Constructors for the reason given at coromqtt::message (g++ 12 and braced temporaries, -Wextra).
struct will_message {
  will_message() = default;
  will_message(std::string topic_name, std::string payload_bytes, coromqtt::qos level = qos::at_most_once,
               bool retained = false, message_properties props = {}, std::uint32_t delay_seconds = 0)
      : topic(std::move(topic_name)),
        payload(std::move(payload_bytes)),
        qos(level),
        retain(retained),
        properties(std::move(props)),
        delay_interval(delay_seconds) {}

  std::string topic;
  std::string payload;
  coromqtt::qos qos = qos::at_most_once;
  bool retain = false;
  message_properties properties;        // MQTT 5
  std::uint32_t delay_interval = 0;     // MQTT 5 Will Delay Interval, seconds
};

// A message and byte rate for the token bucket that paces every PUBLISH written to the wire, retransmissions
// included. Zero means unlimited in that dimension.
struct rate_limit {
  double messages_per_second = 0;
  double bytes_per_second = 0;
  double burst_messages = 0;  // bucket size; 0 = one second's worth
  double burst_bytes = 0;
};

// What co_publish does when the queue of messages waiting to be written (the offline queue while disconnected)
// is at its bound.
enum class queue_full_policy {
  wait,  // suspend the publisher until there is room (backpressure)
  fail,  // complete at once with error::queue_full
};

struct client_options {
  // The inflight window in force for these options (see inflight_window).
  std::uint16_t effective_inflight_window() const noexcept {
    if (inflight_window != 0) return inflight_window;
    return version == protocol_version::v5 ? 100 : 20;
  }

  // --- Where ------------------------------------------------------------------------------------------------
  // Broker URLs (see endpoint.hpp), tried in order; after a failure the next one is tried (round robin).
  std::vector<std::string> brokers{"mqtt://127.0.0.1:1883"};
  transport_options transport;
  // Follow an MQTT 5 Server Reference in CONNACK or DISCONNECT (0x9C Use another server, 0x9D Server moved):
  // the referenced server is tried next.
  bool follow_server_reference = false;

  // --- Who --------------------------------------------------------------------------------------------------
  coromqtt::protocol_version version = protocol_version::v5;
  // Empty: MQTT 5 lets the broker assign one (reused on reconnect); MQTT 3.1.1 requires clean_start then.
  std::string client_id;
  // Called on every connection attempt (tokens expire). Empty: no user name, no password. An exception from
  // it fails that attempt with error::authentication_failed, as a returned error would; the policy decides
  // what comes next.
  credential_provider credentials;
  // MQTT 5 enhanced authentication (challenge/response with AUTH packets); takes precedence over the
  // authentication method and data of `credentials`. See authenticator.hpp and client::reauthenticate().
  std::shared_ptr<coromqtt::authenticator> authenticator;
  std::optional<will_message> will;

  // --- Session ----------------------------------------------------------------------------------------------
  // Whether the first connection starts a new session. Later reconnections of the same client resume the
  // session (Clean Start = 0) when it can outlive the connection: MQTT 5 with session_expiry_interval > 0,
  // or MQTT 3.1.1 with clean_start = false.
  bool clean_start = true;
  std::uint32_t session_expiry_interval = 0;  // MQTT 5, seconds; 0xFFFFFFFF = never expires
  std::chrono::seconds keep_alive{60};        // 0 = off; the broker's Server Keep Alive overrides it
  // How long after a PINGREQ the broker may stay silent before the connection is declared dead; the default
  // (0) is half the keep alive, so death is detected within 1.5 x keep alive.
  std::chrono::steady_clock::duration ping_timeout{};
  bool resubscribe = true;  // restore every subscription when the broker did not keep the session
  // Where the session survives this client object: null (the default) keeps it in the client's memory only;
  // memory_store() across client objects of one process; file_store(directory) across process restarts. A
  // client made on a store resumes what it holds: the stored client identifier with Clean Start = 0 (when the
  // broker kept a session), unacknowledged messages in order, then the stored queue. See store.hpp.
  std::shared_ptr<session_store> store;
  user_properties connect_user_properties;  // MQTT 5 CONNECT
  bool request_problem_information = true;  // MQTT 5: ask for reason strings on errors
  // Request/response (client::co_request): the topic responses are asked to go to. Empty: the broker's
  // Response Information with "/responses" appended, when request_response_information is on and the broker
  // sent one; else "coromqtt/responses/<16 random hex digits>", unique to this client object. A broker with
  // access control needs one of the first two.
  std::string response_topic;
  // MQTT 5: ask the broker for Response Information in CONNACK (Request Response Information = 1) to derive the
  // response topic from. Off by default: brokers rarely send one (mosquitto does not).
  bool request_response_information = false;

  // --- Flow control and bounds ------------------------------------------------------------------------------
  // Outgoing QoS 1/2 publishes admitted and not yet acknowledged; the broker's Receive Maximum lowers it.
  // 0 = automatic: 100 with MQTT 5 (where the broker announces its own limit), 20 with MQTT 3.1.1, where it
  // cannot: 20 is mosquitto's default, and a 3.1.1 broker over its limit may drop QoS 2 messages silently.
  std::uint16_t inflight_window = 0;
  // Incoming QoS 1/2 messages the broker may have unacknowledged (announced as Receive Maximum, MQTT 5).
  std::uint16_t receive_maximum = 1000;
  // Incoming QoS 1/2 messages are acknowledged (PUBACK / PUBREC) only when the application calls
  // client::acknowledge() for them, e.g. once it has stored them, instead of as they arrive. Acknowledgements
  // still go out in the order the messages arrived [MQTT-4.6.0-2], [MQTT-4.6.0-3]: one given early waits for
  // the earlier ones. Unacknowledged messages count against receive_maximum, so the broker sends no more than
  // that many ahead of the application (with MQTT 3.1.1, as many as the broker's own inflight limit). Those
  // still unacknowledged when the connection drops are sent again by the broker if the session survives, with
  // message::dup set. Off by default: acknowledged on arrival.
  bool manual_acknowledgement = false;
  // Largest packet the client accepts (announced as Maximum Packet Size, MQTT 5); larger ones are refused.
  std::uint32_t maximum_packet_size = 16 * 1024 * 1024;
  // Incoming topic aliases the broker may use (MQTT 5).
  std::uint16_t topic_alias_maximum = 64;
  // Outgoing topic aliases (MQTT 5), up to the broker's Topic Alias Maximum: a topic published again is sent
  // as its 2-byte alias. When every alias is taken, a topic missed twice takes over the least recently used
  // alias. Off by default: the broker must keep a mapping per alias for the connection.
  bool auto_topic_alias = false;
  // Publishes admitted but not yet written: the offline queue while disconnected, messages held back by the
  // rate limit or the broker's Receive Maximum while connected. The publishers waiting to be admitted (window
  // or queue full) are bounded by the same numbers: under `wait` as many again may wait, under `fail` they
  // count with the queue; beyond that they fail with error::queue_full (docs/guide.md, "QoS and backpressure").
  std::size_t max_queued_messages = 10'000;
  std::size_t max_queued_bytes = 16 * 1024 * 1024;
  queue_full_policy when_queue_full = queue_full_policy::wait;
  // Encoded bytes waiting for the writer; QoS 0 publishers suspend beyond it. Also the size of one batch.
  std::size_t write_buffer_limit = 256 * 1024;
  // Incoming messages waiting for co_receive; when full the client stops reading from the socket, so the
  // broker feels the backpressure through TCP.
  std::size_t receive_queue_capacity = 1000;
  // For a client that never calls co_receive (a publisher): every incoming message is acknowledged as usual
  // (QoS 2 exactly once) and then dropped, counted in statistics::messages_discarded. Such a client may still
  // be sent messages (subscriptions of a persistent session it resumes, a broker's mistake); queued for nobody
  // they would fill the receive queue, which stops the reads that also carry the acknowledgements of its own
  // publishes. co_receive then fails at once with error::invalid_argument. Subscription streams and co_request
  // still receive what their subscriptions match. Default false: messages are queued.
  bool discard_incoming_messages = false;
  // Connection events kept for co_next_event when nobody consumes them (the oldest are dropped and counted).
  std::size_t event_queue_capacity = 64;
  std::optional<coromqtt::rate_limit> rate_limit;

  // --- Connecting and reconnecting --------------------------------------------------------------------------
  std::chrono::steady_clock::duration connack_timeout = std::chrono::seconds(10);
  std::chrono::steady_clock::duration disconnect_timeout = std::chrono::seconds(5);  // graceful close
  coromqtt::reconnect_policy reconnect;

  // --- Diagnostics ------------------------------------------------------------------------------------------
  // A sink for the client's log lines and the least level it wants (see log.hpp). Unset by default: nothing is
  // formatted. The connection events (client::co_next_event) carry the same failures with their diagnostics.
  log_options log;
};

}  // namespace coromqtt
