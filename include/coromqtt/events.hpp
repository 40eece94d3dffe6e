// The connection's story, told to whoever awaits client::co_next_event(): nothing fails silently.
#pragma once

#include <coromqtt/error.hpp>
#include <coromqtt/message.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coromqtt {

// What the broker told us in CONNACK (MQTT 5 properties; their defaults on 3.1.1). When a connection attempt
// fails, `reason` and `reason_string` say why, if the broker said, and `diagnostic` what the layer underneath
// said (see event::diagnostic).
struct connection_info {
  reason_code reason = reason_code::success;
  std::string reason_string;
  std::string diagnostic;
  bool session_present = false;
  std::uint16_t receive_maximum = 65535;
  coromqtt::qos maximum_qos = qos::exactly_once;
  bool retain_available = true;
  std::uint32_t maximum_packet_size = 0;  // 0 = no limit announced
  std::uint16_t topic_alias_maximum = 0;
  std::chrono::seconds keep_alive{};     // in force: ours, or the broker's Server Keep Alive
  std::string assigned_client_identifier;
  std::string response_information;
  bool wildcard_subscription_available = true;
  bool subscription_identifier_available = true;
  bool shared_subscription_available = true;
  coromqtt::user_properties user_properties;
};

enum class event_kind {
  connecting,           // an attempt starts (broker, attempt)
  connected,            // the broker accepted (info)
  connect_failed,       // the attempt failed (error, reason)
  disconnected,         // an established connection ended (error, reason)
  reconnect_scheduled,  // the next attempt will start after `delay`
  // No more attempts, the last event of a run (error says why): client_stopped for stop(), disconnect and
  // destruction; the last failure's error when the policy gave up; callback_failed when the policy threw.
  stopped,
  reauthenticated,      // MQTT 5: the broker accepted a re-authentication (client::reauthenticate())
  messages_expired,     // MQTT 5: queued messages whose Message Expiry Interval passed were dropped (count, topic)
};

std::string_view to_string(event_kind) noexcept;

struct event {
  event_kind kind = event_kind::connecting;
  std::string broker;                         // endpoint URL of the attempt
  unsigned attempt = 0;                       // consecutive failed attempts before this one + 1
  // For connect_failed, disconnected (none for a graceful disconnect we asked for; client_stopped after
  // stop()), stopped.
  error_code error;
  reason_code reason = reason_code::success;  // the broker's reason code, when it gave one
  std::string reason_string;                  // and its explanation
  // For connect_failed, disconnected and stopped: the failure in the words of the layer that saw it, one line,
  // beyond what error.message() says. OpenSSL's reason and the certificate that failed ("TLS handshake with
  // broker.example failed: certificate verify failed (SSL routines): certificate at depth 0 (/CN=...): ..."),
  // the file that could not be loaded ("cannot load cert_file \"/etc/app/client.pem\": ..."), the HTTP status
  // of a refused WebSocket upgrade, each address a TCP connect failed on, the rule a broker broke. Empty when
  // there is nothing to add.
  std::string diagnostic;
  std::chrono::milliseconds delay{};          // for reconnect_scheduled
  connection_info info;                       // for connected
  // Events dropped just before this one because nobody consumed them and the queue was full.
  std::size_t missed = 0;
  // For messages_expired: how many were dropped, and the topic of the last one.
  std::size_t messages = 0;
  std::string topic;
};

}  // namespace coromqtt
