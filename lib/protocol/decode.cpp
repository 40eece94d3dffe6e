// Framing and decoding: bytes in, packets out. Every field is validated; the packet holds views of the input.
#include <coromqtt/protocol/codec.hpp>
#include <coromqtt/protocol/topic.hpp>

#include "packet_mask.hpp"
#include "property_codec.hpp"
#include "reason_table.hpp"
#include "wire.hpp"

namespace coromqtt::protocol {
namespace {

using detail::failed;
using detail::no_error;
using detail::wire_reader;

// The flags of the fixed header [MQTT-2.1.3-1]: PUBREL, SUBSCRIBE and UNSUBSCRIBE carry 0b0010
// [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]; PUBLISH carries DUP, QoS and RETAIN; all others 0.
error check_fixed_header(std::uint8_t first_byte) noexcept {
  const auto type = static_cast<packet_type>(first_byte >> 4);
  const std::uint8_t flags = first_byte & 0x0F;
  switch (type) {
    case packet_type::publish: {
      const unsigned level = (flags >> 1) & 0x03;
      if (level == 3) return error::invalid_qos;                      // [MQTT-3.3.1-4]
      if (level == 0 && (flags & 0x08)) return error::dup_with_qos_0;  // [MQTT-3.3.1-2]
      return no_error;
    }
    case packet_type::pubrel:
    case packet_type::subscribe:
    case packet_type::unsubscribe: return flags == 0x02 ? no_error : error::invalid_fixed_header_flags;
    case packet_type::connect:
    case packet_type::connack:
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubcomp:
    case packet_type::suback:
    case packet_type::unsuback:
    case packet_type::pingreq:
    case packet_type::pingresp:
    case packet_type::disconnect:
    case packet_type::auth: return flags == 0 ? no_error : error::invalid_fixed_header_flags;
  }
  return error::reserved_packet_type;  // 0 [MQTT-2.1.2]
}

bool is_v5(protocol_version version) noexcept { return version == protocol_version::v5; }

void read_packet_identifier(wire_reader& in, std::uint16_t& id) noexcept {
  id = in.two_byte_integer();
  if (in.ok() && id == 0) in.fail(error::zero_packet_identifier);  // [MQTT-2.2.1-3]
}

reason_code read_reason_code(wire_reader& in, packet_type type) noexcept {
  const auto code = static_cast<reason_code>(in.byte());
  if (in.ok() && !detail::reason_allowed(code, type)) in.fail(error::invalid_reason_code);
  return code;
}

void read_connect(wire_reader& in, connect& p) noexcept {
  // The protocol name is compared, not interpreted: anything but "MQTT" is refused [MQTT-3.1.2-1].
  const std::string_view protocol_name = detail::as_text(in.binary_data());
  const std::uint8_t level = in.byte();
  if (!in.ok()) return;
  if (protocol_name != "MQTT") return in.fail(error::invalid_protocol_name);
  if (level != 4 && level != 5) return in.fail(error::unsupported_protocol_version);  // [MQTT-3.1.2-2]
  p.version = static_cast<protocol_version>(level);

  const std::uint8_t flags = in.byte();
  p.keep_alive = in.two_byte_integer();
  if (!in.ok()) return;
  const bool has_user_name = flags & 0x80;
  const bool has_password = flags & 0x40;
  const bool will_retain = flags & 0x20;
  const unsigned will_qos = (flags >> 3) & 0x03;
  const bool has_will = flags & 0x04;
  p.clean_start = flags & 0x02;
  if (flags & 0x01) return in.fail(error::invalid_connect_flags);  // reserved [MQTT-3.1.2-3]
  // Without a will, its QoS and RETAIN are 0 [MQTT-3.1.2-11], [MQTT-3.1.2-13]; QoS 3 never [MQTT-3.1.2-12].
  if ((!has_will && (will_qos != 0 || will_retain)) || will_qos == 3)
    return in.fail(error::invalid_connect_flags);
  if (p.version == protocol_version::v3_1_1 && has_password && !has_user_name)
    return in.fail(error::password_without_user_name);  // 3.1.1 [MQTT-3.1.2-22]

  if (is_v5(p.version)) detail::read_properties(in, detail::bit(packet_type::connect), p.properties);
  // Payload order: client identifier, will properties, will topic, will payload, user name, password
  // [MQTT-3.1.3-1].
  p.client_id = in.utf8_string();
  if (has_will) {
    will& w = p.will.emplace();
    w.qos = static_cast<qos>(will_qos);
    w.retain = will_retain;
    if (is_v5(p.version)) detail::read_properties(in, detail::will_properties_mask, w.properties);
    w.topic = in.utf8_string();
    if (in.ok() && failed(detail::topic_name_error(w.topic))) in.fail(error::invalid_topic_name);
    w.payload = in.binary_data();
  }
  if (has_user_name) p.username = in.utf8_string();
  if (has_password) p.password = in.binary_data();
}

// MQTT 3.1.1 CONNACK return codes 0-5 [MQTT-3.2.2.3] in the MQTT 5 vocabulary, by return code.
constexpr reason_code v3_connack_codes[] = {
    reason_code::success,
    reason_code::unsupported_protocol_version,
    reason_code::client_identifier_not_valid,
    reason_code::server_unavailable,
    reason_code::bad_user_name_or_password,
    reason_code::not_authorized,
};

void read_connack(wire_reader& in, protocol_version version, connack& p) noexcept {
  const std::uint8_t flags = in.byte();
  const std::uint8_t code = in.byte();
  if (!in.ok()) return;
  if (flags & 0xFE) return in.fail(error::invalid_connack_flags);  // [MQTT-3.2.2-1]
  p.session_present = flags & 0x01;
  if (!is_v5(version)) {
    if (code >= std::size(v3_connack_codes)) return in.fail(error::invalid_reason_code);
    p.reason = v3_connack_codes[code];
    return;
  }
  p.reason = static_cast<reason_code>(code);
  if (!detail::reason_allowed(p.reason, packet_type::connack)) return in.fail(error::invalid_reason_code);
  detail::read_properties(in, detail::bit(packet_type::connack), p.properties);
}

void read_publish(wire_reader& in, std::uint8_t flags, protocol_version version, publish& p) noexcept {
  p.dup = flags & 0x08;
  p.qos = static_cast<qos>((flags >> 1) & 0x03);
  p.retain = flags & 0x01;
  p.topic = in.utf8_string();  // [MQTT-3.3.2-1]
  if (in.ok() && detail::has_wildcard(p.topic))
    return in.fail(error::invalid_topic_name);  // [MQTT-3.3.2-2]
  if (p.qos != qos::at_most_once) read_packet_identifier(in, p.packet_id);  // [MQTT-2.2.1-2]
  if (is_v5(version)) detail::read_properties(in, detail::bit(packet_type::publish), p.properties);
  p.payload = in.rest();
  // An empty topic name stands for the one the Topic Alias maps to; without an alias it is a Protocol Error in
  // MQTT 5 (3.3.2.1), and invalid in 3.1.1, which has no aliases [MQTT-4.7.3-1].
  if (in.ok() && p.topic.empty() && !p.properties.topic_alias)
    in.fail(is_v5(version) ? error::topic_name_missing : error::invalid_topic_name);
}

template <packet_type Type>
void read_publish_response(wire_reader& in, protocol_version version, publish_response<Type>& p) noexcept {
  read_packet_identifier(in, p.packet_id);  // [MQTT-2.2.1-5]
  // MQTT 5: with Remaining Length 2 the reason is Success; below 4 there are no properties [MQTT-3.4.2.1].
  if (!is_v5(version) || !in.ok() || in.at_end()) return;
  p.reason = read_reason_code(in, Type);
  if (in.ok() && !in.at_end()) detail::read_properties(in, detail::bit(Type), p.properties);
}

// Subscription Options [MQTT-3.8.3.1]. In 3.1.1 only the QoS bits exist, the other six are reserved.
error check_subscription(protocol_version version, std::string_view filter, std::uint8_t options) noexcept {
  if (const error e = detail::topic_filter_error(filter); failed(e)) return e;
  const std::uint8_t reserved = is_v5(version) ? 0xC0 : 0xFC;
  if (options & reserved) return error::invalid_subscription_options;  // [MQTT-3.8.3-5]
  const unsigned max_qos = options & 0x03;
  const unsigned retain_handling = (options >> 4) & 0x03;
  if (max_qos == 3 || retain_handling == 3) return error::subscription_option_out_of_range;
  if ((options & 0x04) && parse_shared_subscription(filter)) return error::no_local_on_shared_subscription;
  return no_error;
}

void read_subscribe(wire_reader& in, protocol_version version, subscribe& p) noexcept {
  read_packet_identifier(in, p.packet_id);
  if (is_v5(version)) detail::read_properties(in, detail::bit(packet_type::subscribe), p.properties);
  const byte_view payload = in.rest();
  if (!in.ok()) return;
  wire_reader entries{payload};
  std::size_t count = 0;
  while (entries.ok() && !entries.at_end()) {
    const std::string_view filter = entries.utf8_string();  // [MQTT-3.8.3-1]
    const std::uint8_t options = entries.byte();
    if (!entries.ok()) break;
    if (const error e = check_subscription(version, filter, options); failed(e)) return in.fail(e);
    ++count;
  }
  if (!entries.ok()) return in.fail(entries.error());
  if (count == 0) return in.fail(error::empty_subscription_list);  // [MQTT-3.8.3-2]
  p.subscriptions = subscription_list::from_wire(payload, count);
}

void read_suback(wire_reader& in, protocol_version version, suback& p) noexcept {
  read_packet_identifier(in, p.packet_id);  // [MQTT-2.2.1-6]
  if (is_v5(version)) detail::read_properties(in, detail::bit(packet_type::suback), p.properties);
  const byte_view codes = in.rest();
  if (!in.ok()) return;
  for (const std::uint8_t code : codes) {
    // 3.1.1 allows 0x00, 0x01, 0x02 and 0x80 [MQTT-3.9.3-2]; MQTT 5 the Subscribe Reason Codes.
    const bool allowed = is_v5(version) ? detail::reason_allowed(static_cast<reason_code>(code), packet_type::suback)
                                        : code <= 0x02 || code == 0x80;
    if (!allowed) return in.fail(error::invalid_reason_code);
  }
  p.reasons = reason_code_list::from_wire(codes, codes.size());
}

void read_unsubscribe(wire_reader& in, protocol_version version, unsubscribe& p) noexcept {
  read_packet_identifier(in, p.packet_id);
  if (is_v5(version)) detail::read_properties(in, detail::bit(packet_type::unsubscribe), p.properties);
  const byte_view payload = in.rest();
  if (!in.ok()) return;
  wire_reader entries{payload};
  std::size_t count = 0;
  while (entries.ok() && !entries.at_end()) {
    const std::string_view filter = entries.utf8_string();  // [MQTT-3.10.3-1]
    if (!entries.ok()) break;
    if (const error e = detail::topic_filter_error(filter); failed(e)) return in.fail(e);
    ++count;
  }
  if (!entries.ok()) return in.fail(entries.error());
  if (count == 0) return in.fail(error::empty_unsubscription_list);  // [MQTT-3.10.3-2]
  p.filters = topic_filter_list::from_wire(payload, count);
}

void read_unsuback(wire_reader& in, protocol_version version, unsuback& p) noexcept {
  read_packet_identifier(in, p.packet_id);
  if (!is_v5(version)) return;  // 3.1.1 UNSUBACK is the packet identifier alone
  detail::read_properties(in, detail::bit(packet_type::unsuback), p.properties);
  const byte_view codes = in.rest();
  if (!in.ok()) return;
  for (const std::uint8_t code : codes)
    if (!detail::reason_allowed(static_cast<reason_code>(code), packet_type::unsuback))
      return in.fail(error::invalid_reason_code);  // [MQTT-3.11.3-2]
  p.reasons = reason_code_list::from_wire(codes, codes.size());
}

// DISCONNECT and AUTH: a reason code, then properties, both optional at the end of the packet
// [MQTT-3.14.2.1], [MQTT-3.15.2.1].
template <class Packet>
void read_reason_and_properties(wire_reader& in, packet_type type, Packet& p) noexcept {
  if (in.at_end()) return;
  p.reason = read_reason_code(in, type);
  // DISCONNECT may stop after the reason code; AUTH may not (its only short form is Remaining Length 0).
  if (in.ok() && (type == packet_type::auth || !in.at_end()))
    detail::read_properties(in, detail::bit(type), p.properties);
}

}  // namespace

frame_result read_frame(byte_view input, std::uint32_t maximum_packet_size) noexcept {
  frame_result result;
  if (input.empty()) return result;
  const auto refuse = [&](error e) {
    result.status = frame_status::error;
    result.error = e;
    return result;
  };
  if (const error e = check_fixed_header(input[0]); failed(e)) return refuse(e);
  const auto length = detail::read_variable_byte_integer(input.data() + 1, input.data() + input.size());
  using status = detail::variable_byte_integer_result::status;
  if (length.state == status::need_more) return result;
  if (length.state == status::malformed) return refuse(error::malformed_variable_byte_integer);
  result.header = {input[0], 1 + length.size, length.value};
  // Checked before any byte of the body is waited for, so the caller never buffers an oversized packet.
  if (result.header.packet_size() > maximum_packet_size) return refuse(error::packet_too_large);
  const packet_type type = result.header.type();
  if ((type == packet_type::pingreq || type == packet_type::pingresp) && length.value != 0)
    return refuse(error::remaining_length_mismatch);
  if (input.size() < result.header.packet_size()) {
    result.needed = result.header.packet_size();
    return result;
  }
  result.status = frame_status::complete;
  return result;
}

std::error_code decode_packet(const frame_header& header, byte_view packet_bytes, protocol_version version,
                              packet& out) {
  if (const error e = check_fixed_header(header.first_byte); failed(e)) return e;
  if (packet_bytes.size() != header.packet_size() || header.header_size < 2 || header.header_size > 5)
    return error::remaining_length_mismatch;
  wire_reader in{packet_bytes.subspan(header.header_size)};
  switch (header.type()) {
    case packet_type::connect: read_connect(in, out.emplace<connect>()); break;
    case packet_type::connack: read_connack(in, version, out.emplace<connack>()); break;
    case packet_type::publish: read_publish(in, header.flags(), version, out.emplace<publish>()); break;
    case packet_type::puback: read_publish_response(in, version, out.emplace<puback>()); break;
    case packet_type::pubrec: read_publish_response(in, version, out.emplace<pubrec>()); break;
    case packet_type::pubrel: read_publish_response(in, version, out.emplace<pubrel>()); break;
    case packet_type::pubcomp: read_publish_response(in, version, out.emplace<pubcomp>()); break;
    case packet_type::subscribe: read_subscribe(in, version, out.emplace<subscribe>()); break;
    case packet_type::suback: read_suback(in, version, out.emplace<suback>()); break;
    case packet_type::unsubscribe: read_unsubscribe(in, version, out.emplace<unsubscribe>()); break;
    case packet_type::unsuback: read_unsuback(in, version, out.emplace<unsuback>()); break;
    case packet_type::pingreq: out.emplace<pingreq>(); break;
    case packet_type::pingresp: out.emplace<pingresp>(); break;
    case packet_type::disconnect:
      if (is_v5(version)) read_reason_and_properties(in, packet_type::disconnect, out.emplace<disconnect>());
      else out.emplace<disconnect>();
      break;
    case packet_type::auth:
      if (!is_v5(version)) return error::reserved_packet_type;  // AUTH is MQTT 5 only
      read_reason_and_properties(in, packet_type::auth, out.emplace<auth>());
      break;
  }
  if (in.ok() && !in.at_end()) in.fail(error::remaining_length_mismatch);
  return detail::to_error_code(in.error());
}

decode_result decode(byte_view input, protocol_version version, const decode_options& options) {
  decode_result result;
  const frame_result frame = read_frame(input, options.maximum_packet_size);
  result.status = frame.status;
  result.error = frame.error;
  result.size = frame.needed;
  if (frame.status != frame_status::complete) return result;
  result.size = frame.header.packet_size();
  if (auto ec = decode_packet(frame.header, input.first(result.size), version, result.packet)) {
    result.status = frame_status::error;
    result.error = ec;
  }
  return result;
}

}  // namespace coromqtt::protocol
