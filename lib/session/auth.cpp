// MQTT 5 enhanced authentication: the AUTH exchange during CONNECT and re-authentication [MQTT-4.12].
#include "session/session.hpp"
#include "session/session_internal.hpp"

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

error_code session::send_auth(reason_code reason, const std::optional<std::string>& data) {
  auth_data_ = data;
  proto::auth packet;
  packet.reason = reason;
  packet.properties.authentication_method = auth_method_;
  if (auth_data_) packet.properties.authentication_data = as_bytes(*auth_data_);
  return append(packet);
}

error_code session::handle_auth(const proto::auth& a) {
  // AUTH only answers an exchange we started: during CONNECT with an authenticator, or a re-authentication
  // [MQTT-4.12.0-2], [MQTT-4.12.1-1].
  const bool expected = options_.authenticator && version_ == protocol_version::v5 &&
                        (state_ == session_state::awaiting_connack || reauthenticating_);
  if (!expected)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "unexpected AUTH");
  if (a.properties.authentication_method.value_or("") != auth_method_)  // [MQTT-4.12.0-5]
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "AUTH with another authentication method");
  const auto data = a.properties.authentication_data.value_or(proto::byte_view{});
  const std::string_view data_view{reinterpret_cast<const char*>(data.data()), data.size()};
  if (a.reason == reason_code::continue_authentication) {
    authentication_step step;
    if (!authenticator_call_succeeded([&] { step = options_.authenticator->challenge(data_view); }))
      step.abort = true;  // a challenge step that throws gives up, as one that says so
    if (step.abort) {
      last_error_ = {make_error_code(error::authentication_failed), reason_code::not_authorized, {}, {}};
      return last_error_.error;
    }
    return send_auth(reason_code::continue_authentication, step.data);
  }
  if (a.reason == reason_code::success && reauthenticating_) {
    reauthenticating_ = false;
    ++reauthentications_;
    if (!authenticator_call_succeeded([&] { options_.authenticator->succeeded(data_view); })) {
      last_error_ = {make_error_code(error::authentication_failed), reason_code::success, {}, {}};
      return last_error_.error;
    }
    return {};
  }
  // 0x19 comes only from the client; success before CONNACK is CONNACK's job.
  return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                   "AUTH with an unexpected reason code");
}

error_code session::reauthenticate() {
  if (version_ != protocol_version::v5 || !options_.authenticator)
    return make_error_code(error::invalid_argument);
  if (state_ != session_state::connected) return make_error_code(error::not_connected);
  if (reauthenticating_) return {};  // one exchange at a time
  std::optional<std::string> data;
  if (!authenticator_call_succeeded([&] { data = options_.authenticator->initial_data(); })) {
    last_error_ = {make_error_code(error::authentication_failed), reason_code::success, {}, {}};
    return last_error_.error;
  }
  reauthenticating_ = true;
  return send_auth(reason_code::re_authenticate, data);
}

}  // namespace coromqtt::detail
