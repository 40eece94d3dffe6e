// Errors of the client and its transports. Codec errors are coromqtt::protocol::error (a std::error_code
// category, which boost::system::error_code wraps unchanged); MQTT reason codes from the broker travel beside
// the error_code (see coromqtt::reason_code in message.hpp).
#pragma once

#include <coromqtt/protocol/reason_code.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <type_traits>

namespace coromqtt {

using boost::system::error_code;
using protocol::reason_code;

enum class error {
  // Connection set-up
  resolve_timeout = 1,          // the host name was not resolved within resolve_timeout
  connect_timeout,              // no TCP connection within connect_timeout
  handshake_timeout,            // TLS or WebSocket handshake not done within handshake_timeout
  connack_timeout,              // no CONNACK within connack_timeout
  connection_refused,           // CONNACK with an error reason code (the code is reported beside this)
  invalid_url,                  // the broker URL could not be parsed, or names an unknown scheme
  transport_not_available,      // TLS or WebSocket requested but this build has no support for it
  // TLS verification, so that a failure says what failed
  tls_unknown_ca,               // the broker's chain does not lead to a trusted CA
  tls_host_name_mismatch,       // the certificate is valid but for another host name
  tls_certificate_expired,      // the broker's certificate (or one in its chain) has expired
  tls_certificate_not_yet_valid,
  tls_handshake_failed,         // any other handshake failure (protocol version, cipher, alert from the peer)
  tls_client_certificate_required,  // the broker demanded a client certificate we did not present
  websocket_upgrade_failed,     // the server did not accept the WebSocket upgrade (or not the "mqtt" subprotocol)
  // The live connection
  keep_alive_timeout,           // nothing from the broker within 1.5 times the keep alive
  disconnected_by_broker,       // the broker sent DISCONNECT (its reason code is reported beside this)
  connection_closed,            // the broker closed the connection without DISCONNECT
  protocol_violation,           // the broker broke the protocol (unexpected packet, unknown packet identifier...)
  // Operations
  not_connected,                // the operation needs a connection and the client is not connected
  client_stopped,               // the client stopped (stop(), disconnect, or the reconnect policy gave up)
  queue_full,                   // a bounded queue is full and the options say to fail rather than wait
  packet_too_large,             // the packet exceeds the broker's Maximum Packet Size
  qos_not_supported,            // the requested QoS exceeds the broker's Maximum QoS
  retain_not_supported,         // retain requested but the broker has Retain Available = 0
  session_expired,              // the broker did not keep the session; this operation's state was lost
  packet_identifiers_exhausted, // all 65,535 packet identifiers are in use
  invalid_argument,             // e.g. an invalid topic name or filter (the codec error says which rule)
  authentication_failed,        // enhanced authentication did not succeed
  rejected_by_broker,           // the broker answered with an error reason code (reported beside this)
  subscription_refused,         // the broker refused at least one filter of a SUBSCRIBE (codes per filter)
  tls_configuration_failed,     // a CA, certificate or key file could not be loaded (or the key's password is wrong)
  // Session stores
  store_locked,                 // the store (directory) is in use by another live client
  store_failed,                 // the store could not be read or written (the system's error is logged beside)
  message_dropped,              // the store was full and its policy dropped this (oldest) message
  // Message expiry, request/response, subscription streams
  message_expired,              // MQTT 5: the Message Expiry Interval passed while the message waited to be sent
  request_timeout,              // co_request: no response within the timeout
  mqtt5_required,               // the feature exists only in MQTT 5 (request/response)
  stream_closed,                // the subscription stream was unsubscribed and has no message left
  // User code
  callback_failed,              // a callback of the options threw (the reconnect policy's decide, ...)
};

const boost::system::error_category& error_category() noexcept;

inline error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace coromqtt

template <>
struct boost::system::is_error_code_enum<coromqtt::error> : std::true_type {};
