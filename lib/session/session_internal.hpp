// What the session's source files share: views between the user's owning types and the codec's borrowed ones,
// and the encoder that appends a packet to the pending bytes. Private to lib/session.
#pragma once

#include "session/session.hpp"

#include <coromqtt/protocol/codec.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

// Enough for what an idle connection reads (CONNACK, PINGRESP, acknowledgements); a read that fills the
// buffer doubles it, so a busy connection grows it within a few reads. 1 KiB was a sixth of an idle
// connection's heap.
inline constexpr std::size_t initial_read_capacity = 256;
// A read that fills the whole free space doubles the buffer, up to this; larger packets grow it to their
// size.
inline constexpr std::size_t streaming_read_capacity = 256 * 1024;

inline proto::byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(proto::byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Runs one call into the user's authenticator. It is user code: an exception from it must fail the exchange
// as an abort would, with error::authentication_failed, rather than unwind through the client's run loop and
// leave the connection half open (issue 12, point 2). Returns whether the call returned normally.
template <class Call>
bool authenticator_call_succeeded(Call&& call) noexcept {
  try {
    call();
    return true;
  } catch (...) {
    return false;
  }
}

// Views of user properties for the encoder, built in a reused scratch vector.
inline proto::user_property_list view_of(const user_properties& props,
                                         std::vector<proto::user_property>& scratch) {
  if (props.empty()) return {};
  const std::size_t first = scratch.size();
  for (const auto& [name, value] : props) scratch.push_back({name, value});
  return std::span<const proto::user_property>{scratch.data() + first, props.size()};
}

inline user_properties copy_of(const proto::user_property_list& list) {
  user_properties out;
  out.reserve(list.size());
  for (auto p : list) out.emplace_back(std::string{p.name}, std::string{p.value});
  return out;
}

template <class Properties>
void copy_message_properties(const Properties& from, message_properties& to) {
  to.payload_format_indicator = from.payload_format_indicator;
  to.message_expiry_interval = from.message_expiry_interval;
  if (from.content_type) to.content_type.emplace(*from.content_type);
  if (from.response_topic) to.response_topic.emplace(*from.response_topic);
  if (from.correlation_data) to.correlation_data.emplace(to_string(*from.correlation_data));
  to.user_properties = copy_of(from.user_properties);
}

template <class Properties>
void view_message_properties(const message_properties& from, Properties& to,
                             std::vector<proto::user_property>& scratch) {
  to.payload_format_indicator = from.payload_format_indicator;
  to.message_expiry_interval = from.message_expiry_interval;
  if (from.content_type) to.content_type = *from.content_type;
  if (from.response_topic) to.response_topic = *from.response_topic;
  if (from.correlation_data) to.correlation_data = as_bytes(*from.correlation_data);
  to.user_properties = view_of(from.user_properties, scratch);
}

template <class Ack>
Ack ack(std::uint16_t packet_id) noexcept {
  Ack a;
  a.packet_id = packet_id;
  return a;
}

inline bool is_publish_stage(awaiting a) noexcept {
  return a == awaiting::puback || a == awaiting::pubrec || a == awaiting::pubcomp;
}

// Encodes `packet` at the end of the pending bytes, unless it is larger than the broker accepts
// [MQTT-3.2.2-15].
template <class Packet>
error_code session::append(const Packet& packet) {
  // In the steady state it fits in the free space: encoded there directly, its size is measured once, by
  // encode(). encoded_size() is asked only when it did not fit, or cannot be encoded.
  if (const std::size_t written = proto::encode(packet, version_, pending_.spare())) {
    const auto limit = connack_.limits.maximum_packet_size;
    if (limit && written > limit) return make_error_code(error::packet_too_large);  // written, not committed
    pending_.commit(written);
    return {};
  }
  const auto sized = proto::encoded_size(packet, version_);
  if (sized.error) return sized.error;
  const auto limit = connack_.limits.maximum_packet_size;
  if (limit && sized.size > limit) return make_error_code(error::packet_too_large);
  proto::encode(packet, version_, pending_.append(sized.size));
  return {};
}

}  // namespace coromqtt::detail
