// Encoding: packets in, bytes out. Each packet's body is described once, against the sink interface of
// wire.hpp, and run twice: into a size_counter for encoded_size() and the Remaining Length, then into a
// byte_writer. What makes a packet unencodable is checked first, by check().
#include <coromqtt/protocol/codec.hpp>

#include "packet_mask.hpp"
#include "plain_publish.hpp"
#include "property_codec.hpp"
#include "reason_table.hpp"
#include "wire.hpp"

#include <algorithm>

namespace coromqtt::protocol {
namespace {

using detail::byte_writer;
using detail::failed;
using detail::no_error;
using detail::properties_empty;
using detail::put_properties;
using detail::size_counter;

bool is_v5(protocol_version version) noexcept { return version == protocol_version::v5; }

std::uint8_t first_byte(packet_type type, std::uint8_t flags = 0) noexcept {
  return static_cast<std::uint8_t>(static_cast<unsigned>(type) << 4 | flags);
}

// Properties exist only in MQTT 5: "empty" means no property present, which is what a default-constructed
// property struct holds.
template <class Properties>
error check_no_properties(protocol_version version, const Properties& properties) noexcept {
  if (!is_v5(version) && !properties_empty(properties)) return error::properties_in_v3;
  return no_error;
}

error check_reason(protocol_version version, reason_code code, packet_type type) noexcept {
  // 3.1.1 acknowledgements carry no reason code: only Success can be expressed.
  const bool allowed = is_v5(version) ? detail::reason_allowed(code, type) : code == reason_code::success;
  return allowed ? no_error : error::invalid_reason_code;
}

// ---------------------------------------------------------------------------------------------------------
// CONNECT [MQTT-3.1]

error check(const connect& p, protocol_version) noexcept {
  if (p.version != protocol_version::v3_1_1 && p.version != protocol_version::v5)
    return error::unsupported_protocol_version;
  if (p.will && p.will->qos > qos::exactly_once) return error::invalid_qos;
  if (p.will && p.will->topic.empty()) return error::invalid_topic_name;
  if (!is_v5(p.version)) {
    if (p.password && !p.username) return error::password_without_user_name;  // 3.1.1 [MQTT-3.1.2-22]
    if (!properties_empty(p.properties) || (p.will && !properties_empty(p.will->properties)))
      return error::properties_in_v3;
  }
  return no_error;
}

std::uint8_t connect_flags(const connect& p) noexcept {
  std::uint8_t flags = 0;
  if (p.username) flags |= 0x80;
  if (p.password) flags |= 0x40;
  if (p.will) {
    flags |= 0x04 | static_cast<std::uint8_t>(static_cast<unsigned>(p.will->qos) << 3);
    if (p.will->retain) flags |= 0x20;
  }
  if (p.clean_start) flags |= 0x02;
  return flags;
}

template <class Sink>
void put_body(Sink& out, const connect& p, protocol_version) noexcept {
  const bool v5 = is_v5(p.version);
  out.utf8_string("MQTT");
  out.byte(static_cast<std::uint8_t>(p.version));
  out.byte(connect_flags(p));
  out.two_byte_integer(p.keep_alive);
  if (v5) put_properties(out, p.properties);
  out.utf8_string(p.client_id);
  if (p.will) {
    if (v5) put_properties(out, p.will->properties);
    out.utf8_string(p.will->topic);
    out.binary_data(p.will->payload);
  }
  if (p.username) out.utf8_string(*p.username);
  if (p.password) out.binary_data(*p.password);
}

std::uint8_t first_byte(const connect&) noexcept { return first_byte(packet_type::connect); }

// ---------------------------------------------------------------------------------------------------------
// CONNACK [MQTT-3.2]

// The 3.1.1 return code for a reason code, or -1 when 3.1.1 has none (see connack in packets.hpp).
int v3_return_code(reason_code code) noexcept {
  switch (code) {
    case reason_code::success: return 0;
    case reason_code::unsupported_protocol_version: return 1;
    case reason_code::client_identifier_not_valid: return 2;
    case reason_code::server_unavailable: return 3;
    case reason_code::bad_user_name_or_password: return 4;
    case reason_code::not_authorized: return 5;
    default: return -1;
  }
}

error check(const connack& p, protocol_version version) noexcept {
  if (is_v5(version)) return check_reason(version, p.reason, packet_type::connack);
  if (v3_return_code(p.reason) < 0) return error::invalid_reason_code;
  return check_no_properties(version, p.properties);
}

template <class Sink>
void put_body(Sink& out, const connack& p, protocol_version version) noexcept {
  out.byte(p.session_present ? 1 : 0);
  if (is_v5(version)) {
    out.byte(static_cast<std::uint8_t>(p.reason));
    put_properties(out, p.properties);
  } else {
    out.byte(static_cast<std::uint8_t>(v3_return_code(p.reason)));
  }
}

std::uint8_t first_byte(const connack&) noexcept { return first_byte(packet_type::connack); }

// ---------------------------------------------------------------------------------------------------------
// PUBLISH [MQTT-3.3]: the hot path, so no variant visit on the way here.

error check(const publish& p, protocol_version version) noexcept {
  if (p.qos > qos::exactly_once) return error::invalid_qos;                          // [MQTT-3.3.1-4]
  if (p.qos == qos::at_most_once && p.dup) return error::dup_with_qos_0;             // [MQTT-3.3.1-2]
  if (p.qos != qos::at_most_once && p.packet_id == 0) return error::zero_packet_identifier;  // [MQTT-2.2.1-3]
  if (!is_v5(version)) {
    if (p.topic.empty()) return error::invalid_topic_name;
    return check_no_properties(version, p.properties);
  }
  if (p.topic.empty() && !p.properties.topic_alias) return error::topic_name_missing;
  return no_error;
}

template <class Sink>
void put_body(Sink& out, const publish& p, protocol_version version) noexcept {
  out.utf8_string(p.topic);
  // A QoS 0 PUBLISH has no packet identifier [MQTT-2.2.1-2]: packet_id is ignored then.
  if (p.qos != qos::at_most_once) out.two_byte_integer(p.packet_id);
  if (is_v5(version)) put_properties(out, p.properties);
  out.bytes(p.payload);
}

std::uint8_t first_byte(const publish& p) noexcept {
  const auto flags = static_cast<std::uint8_t>((p.dup ? 0x08 : 0) | static_cast<unsigned>(p.qos) << 1 |
                                               (p.retain ? 0x01 : 0));
  return first_byte(packet_type::publish, flags);
}

// ---------------------------------------------------------------------------------------------------------
// PUBACK, PUBREC, PUBREL, PUBCOMP [MQTT-3.4] ... [MQTT-3.7]

template <packet_type Type>
error check(const publish_response<Type>& p, protocol_version version) noexcept {
  if (p.packet_id == 0) return error::zero_packet_identifier;
  if (const error e = check_reason(version, p.reason, Type); failed(e)) return e;
  return check_no_properties(version, p.properties);
}

// MQTT 5 short forms: Success without properties is the packet identifier alone; a reason code without
// properties omits the Property Length [MQTT-3.4.2.1], [MQTT-3.4.2.2.1].
template <class Sink, packet_type Type>
void put_body(Sink& out, const publish_response<Type>& p, protocol_version version) noexcept {
  out.two_byte_integer(p.packet_id);
  if (!is_v5(version)) return;
  const bool has_properties = !properties_empty(p.properties);
  if (p.reason == reason_code::success && !has_properties) return;
  out.byte(static_cast<std::uint8_t>(p.reason));
  if (has_properties) put_properties(out, p.properties);
}

template <packet_type Type>
std::uint8_t first_byte(const publish_response<Type>&) noexcept {
  return first_byte(Type, Type == packet_type::pubrel ? 0x02 : 0x00);  // [MQTT-3.6.1-1]
}

// ---------------------------------------------------------------------------------------------------------
// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK [MQTT-3.8] ... [MQTT-3.11]

std::uint8_t options_byte(const subscribe_options& options) noexcept {
  return static_cast<std::uint8_t>(static_cast<unsigned>(options.max_qos) | (options.no_local ? 0x04 : 0) |
                                   (options.retain_as_published ? 0x08 : 0) |
                                   static_cast<unsigned>(options.retain_handling) << 4);
}

error check(const subscribe& p, protocol_version version) noexcept {
  if (p.packet_id == 0) return error::zero_packet_identifier;
  if (p.subscriptions.empty()) return error::empty_subscription_list;  // [MQTT-3.8.3-2]
  for (const subscription s : p.subscriptions) {
    const subscribe_options& o = s.options;
    if (o.max_qos > qos::exactly_once || o.retain_handling > retain_handling::dont_send)
      return error::subscription_option_out_of_range;
    if (!is_v5(version) && (o.no_local || o.retain_as_published || o.retain_handling != retain_handling{}))
      return error::invalid_subscription_options;  // 3.1.1 has only the QoS bits
    if (o.no_local && parse_shared_subscription(s.filter)) return error::no_local_on_shared_subscription;
  }
  return check_no_properties(version, p.properties);
}

template <class Sink>
void put_body(Sink& out, const subscribe& p, protocol_version version) noexcept {
  out.two_byte_integer(p.packet_id);
  if (is_v5(version)) put_properties(out, p.properties);
  for (const subscription s : p.subscriptions) {
    out.utf8_string(s.filter);
    out.byte(options_byte(s.options));
  }
}

std::uint8_t first_byte(const subscribe&) noexcept { return first_byte(packet_type::subscribe, 0x02); }

error check(const suback& p, protocol_version version) noexcept {
  if (p.packet_id == 0) return error::zero_packet_identifier;
  for (const reason_code code : p.reasons) {
    const auto value = static_cast<std::uint8_t>(code);
    const bool allowed =
        is_v5(version) ? detail::reason_allowed(code, packet_type::suback) : value <= 0x02 || value == 0x80;
    if (!allowed) return error::invalid_reason_code;  // [MQTT-3.9.3-2]
  }
  return check_no_properties(version, p.properties);
}

template <class Sink>
void put_body(Sink& out, const suback& p, protocol_version version) noexcept {
  out.two_byte_integer(p.packet_id);
  if (is_v5(version)) put_properties(out, p.properties);
  for (const reason_code code : p.reasons) out.byte(static_cast<std::uint8_t>(code));
}

std::uint8_t first_byte(const suback&) noexcept { return first_byte(packet_type::suback); }

error check(const unsubscribe& p, protocol_version version) noexcept {
  if (p.packet_id == 0) return error::zero_packet_identifier;
  if (p.filters.empty()) return error::empty_unsubscription_list;  // [MQTT-3.10.3-2]
  return check_no_properties(version, p.properties);
}

template <class Sink>
void put_body(Sink& out, const unsubscribe& p, protocol_version version) noexcept {
  out.two_byte_integer(p.packet_id);
  if (is_v5(version)) put_properties(out, p.properties);
  for (const std::string_view filter : p.filters) out.utf8_string(filter);
}

std::uint8_t first_byte(const unsubscribe&) noexcept { return first_byte(packet_type::unsubscribe, 0x02); }

error check(const unsuback& p, protocol_version version) noexcept {
  if (p.packet_id == 0) return error::zero_packet_identifier;
  if (!is_v5(version) && !p.reasons.empty()) return error::invalid_reason_code;  // 3.1.1 has none
  for (const reason_code code : p.reasons)
    if (!detail::reason_allowed(code, packet_type::unsuback)) return error::invalid_reason_code;
  return check_no_properties(version, p.properties);
}

template <class Sink>
void put_body(Sink& out, const unsuback& p, protocol_version version) noexcept {
  out.two_byte_integer(p.packet_id);
  if (!is_v5(version)) return;
  put_properties(out, p.properties);
  for (const reason_code code : p.reasons) out.byte(static_cast<std::uint8_t>(code));
}

std::uint8_t first_byte(const unsuback&) noexcept { return first_byte(packet_type::unsuback); }

// ---------------------------------------------------------------------------------------------------------
// PINGREQ, PINGRESP, DISCONNECT, AUTH [MQTT-3.12] ... [MQTT-3.15]

error check(const pingreq&, protocol_version) noexcept { return no_error; }
error check(const pingresp&, protocol_version) noexcept { return no_error; }
template <class Sink>
void put_body(Sink&, const pingreq&, protocol_version) noexcept {}
template <class Sink>
void put_body(Sink&, const pingresp&, protocol_version) noexcept {}
std::uint8_t first_byte(const pingreq&) noexcept { return first_byte(packet_type::pingreq); }
std::uint8_t first_byte(const pingresp&) noexcept { return first_byte(packet_type::pingresp); }

error check(const disconnect& p, protocol_version version) noexcept {
  if (const error e = check_reason(version, p.reason, packet_type::disconnect); failed(e)) return e;
  return check_no_properties(version, p.properties);
}

// Normal disconnection without properties is Remaining Length 0; a reason code alone is 1 [MQTT-3.14.2.1].
template <class Sink>
void put_body(Sink& out, const disconnect& p, protocol_version version) noexcept {
  if (!is_v5(version)) return;
  const bool has_properties = !properties_empty(p.properties);
  if (p.reason == reason_code::success && !has_properties) return;
  out.byte(static_cast<std::uint8_t>(p.reason));
  if (has_properties) put_properties(out, p.properties);
}

std::uint8_t first_byte(const disconnect&) noexcept { return first_byte(packet_type::disconnect); }

error check(const auth& p, protocol_version version) noexcept {
  if (!is_v5(version)) return error::reserved_packet_type;  // AUTH does not exist in 3.1.1
  return check_reason(version, p.reason, packet_type::auth);
}

// Success without properties is Remaining Length 0; otherwise both fields [MQTT-3.15.2.1].
template <class Sink>
void put_body(Sink& out, const auth& p, protocol_version) noexcept {
  if (p.reason == reason_code::success && properties_empty(p.properties)) return;
  out.byte(static_cast<std::uint8_t>(p.reason));
  put_properties(out, p.properties);
}

std::uint8_t first_byte(const auth&) noexcept { return first_byte(packet_type::auth); }

// ---------------------------------------------------------------------------------------------------------

// The error travels as the enum (see wire.hpp): a std::error_code made per packet, even an empty one, calls
// into libstdc++, and encode() never needs one.
struct measurement {
  std::size_t remaining_length = 0;
  std::size_t size = 0;  // total bytes, fixed header included
  error failure = detail::no_error;
  detail::property_block_sizes property_blocks{};

  encoded_size_result result() const noexcept { return {size, detail::to_error_code(failure)}; }
};

template <class Packet>
measurement measure(const Packet& p, protocol_version version) noexcept {
  measurement m;
  if (const error e = check(p, version); failed(e)) {
    m.failure = e;
    return m;
  }
  size_counter body{&m.property_blocks};
  put_body(body, p, version);
  if (failed(body.error())) {
    m.failure = body.error();
  } else if (body.size() > max_variable_byte_integer) {
    m.failure = error::packet_too_large;
  } else {
    m.remaining_length = body.size();
    m.size = 1 + detail::variable_byte_integer_size(static_cast<std::uint32_t>(body.size())) + body.size();
  }
  return m;
}

template <class Packet>
std::size_t write(const Packet& p, protocol_version version, std::span<std::uint8_t> out) noexcept {
  const measurement m = measure(p, version);
  if (failed(m.failure) || out.size() < m.size) return 0;
  byte_writer writer{out.data(), &m.property_blocks};
  writer.byte(first_byte(p));
  writer.variable_byte_integer(static_cast<std::uint32_t>(m.remaining_length));
  put_body(writer, p, version);
  return m.size;
}

}  // namespace

encoded_size_result encoded_size(const publish& p, protocol_version version) {
  return measure(p, version).result();
}

encoded_size_result encoded_size(const packet& p, protocol_version version) {
  return std::visit([&](const auto& alternative) { return measure(alternative, version).result(); }, p);
}

std::size_t encode(const publish& p, protocol_version version, std::span<std::uint8_t> out) noexcept {
  return write(p, version, out);
}

std::size_t encode(const packet& p, protocol_version version, std::span<std::uint8_t> out) noexcept {
  return std::visit([&](const auto& alternative) { return write(alternative, version, out); }, p);
}

// The rules of check(const publish&) and the layout of put_body(..., const publish&), for no properties.
std::size_t detail::encode_plain_publish(const plain_publish& p, protocol_version version,
                                         std::span<std::uint8_t> out) noexcept {
  if (p.qos > qos::exactly_once || (p.qos == qos::at_most_once && p.dup) ||
      (p.qos != qos::at_most_once && p.packet_id == 0) || p.topic.empty() ||
      p.topic.size() > detail::max_field_length)
    return 0;
  const std::size_t body = 2 + p.topic.size() + (p.qos != qos::at_most_once ? 2 : 0) + (is_v5(version) ? 1 : 0) +
                           p.payload.size();
  if (body > max_variable_byte_integer) return 0;
  const std::size_t total = 1 + detail::variable_byte_integer_size(static_cast<std::uint32_t>(body)) + body;
  if (out.size() < total) return 0;
  byte_writer writer{out.data()};
  writer.byte(static_cast<std::uint8_t>(static_cast<unsigned>(packet_type::publish) << 4 | (p.dup ? 0x08 : 0) |
                                        static_cast<unsigned>(p.qos) << 1 | (p.retain ? 0x01 : 0)));
  writer.variable_byte_integer(static_cast<std::uint32_t>(body));
  writer.utf8_string(p.topic);
  if (p.qos != qos::at_most_once) writer.two_byte_integer(p.packet_id);
  if (is_v5(version)) writer.byte(0);  // Property Length 0
  writer.bytes(p.payload);
  return total;
}

}  // namespace coromqtt::protocol
