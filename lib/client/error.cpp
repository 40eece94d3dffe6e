#include <coromqtt/error.hpp>

#include <string>

namespace coromqtt {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "coromqtt"; }

  std::string message(int value) const override {
    switch (static_cast<error>(value)) {
      case error::resolve_timeout: return "host name resolution timed out";
      case error::connect_timeout: return "TCP connect timed out";
      case error::handshake_timeout: return "TLS or WebSocket handshake timed out";
      case error::connack_timeout: return "no CONNACK from the broker in time";
      case error::connection_refused: return "the broker refused the connection";
      case error::invalid_url: return "invalid broker URL";
      case error::transport_not_available: return "this build of coromqtt has no support for that transport";
      case error::tls_unknown_ca: return "TLS: the broker's certificate is not signed by a trusted CA";
      case error::tls_host_name_mismatch: return "TLS: the broker's certificate is for another host name";
      case error::tls_certificate_expired: return "TLS: the broker's certificate has expired";
      case error::tls_certificate_not_yet_valid: return "TLS: the broker's certificate is not yet valid";
      case error::tls_handshake_failed: return "TLS handshake failed";
      case error::tls_client_certificate_required: return "TLS: the broker requires a client certificate";
      case error::websocket_upgrade_failed: return "WebSocket upgrade refused";
      case error::keep_alive_timeout: return "no traffic from the broker within 1.5 times the keep alive";
      case error::disconnected_by_broker: return "the broker sent DISCONNECT";
      case error::connection_closed: return "the broker closed the connection";
      case error::protocol_violation: return "the broker violated the MQTT protocol";
      case error::not_connected: return "not connected";
      case error::client_stopped: return "the client was stopped";
      case error::queue_full: return "the queue is full";
      case error::packet_too_large: return "the packet exceeds the broker's Maximum Packet Size";
      case error::qos_not_supported: return "the broker does not support this QoS";
      case error::retain_not_supported: return "the broker does not support retained messages";
      case error::session_expired: return "the broker did not keep the session";
      case error::packet_identifiers_exhausted: return "all packet identifiers are in use";
      case error::invalid_argument: return "invalid argument";
      case error::authentication_failed: return "authentication failed";
      case error::rejected_by_broker: return "the broker rejected the request";
      case error::subscription_refused: return "the broker refused a subscription";
      case error::tls_configuration_failed:
        return "TLS: a CA, certificate or key file could not be loaded, or the key's password is wrong";
      case error::store_locked: return "the session store is in use by another live client";
      case error::store_failed: return "the session store could not be read or written";
      case error::message_dropped: return "the session store was full: the oldest message was dropped";
      case error::message_expired: return "the message expired before it could be sent";
      case error::request_timeout: return "no response to the request in time";
      case error::mqtt5_required: return "this needs MQTT 5";
      case error::stream_closed: return "the subscription stream is closed";
      case error::callback_failed: return "a user callback threw an exception";
    }
    return "unknown coromqtt error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace coromqtt
