// MQTT 5 enhanced authentication [MQTT-4.12]: a challenge/response exchange of AUTH packets between CONNECT
// and CONNACK, and again later when either side asks for re-authentication (e.g. SCRAM, Kerberos, a token
// that must be refreshed without dropping the connection).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coromqtt {

// What the authenticator answers to a challenge.
struct authentication_step {
  // Authentication Data for the response (absent: none).
  std::optional<std::string> data;
  // Give up: the client ends the connection attempt (or the connection) with error::authentication_failed.
  bool abort = false;
};

// Implemented by the user; called on the client's strand, so calls never overlap. Must not block for long.
// An exception from any of its functions gives up as `abort` does: the attempt (or, for a re-authentication,
// the connection) ends with error::authentication_failed, reported as connect_failed or disconnected.
class authenticator {
 public:
  virtual ~authenticator() = default;

  // The Authentication Method, e.g. "SCRAM-SHA-256": sent in CONNECT and every AUTH [MQTT-4.12.0-5].
  virtual std::string method() const = 0;

  // Authentication Data for CONNECT, or for the AUTH that starts a re-authentication.
  virtual std::optional<std::string> initial_data() = 0;

  // The broker sent AUTH with reason 0x18 (Continue authentication) and this data.
  virtual authentication_step challenge(std::string_view data) = 0;

  // The broker accepted (CONNACK success, or AUTH success after a re-authentication), with its final data.
  virtual void succeeded(std::string_view /*data*/) {}
};

}  // namespace coromqtt
