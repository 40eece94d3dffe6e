// A PUBLISH without properties (MQTT 3.1.1, or MQTT 5 with none), encoded from its fields: the common case of
// the client's publish fast path, where building a protocol::publish (224 bytes, zero-filled) and running the
// general encoder's two passes cost more than the copy of the message. Internal to the library: the session
// uses it, and falls back on encode() whenever it returns 0.
#pragma once

#include <coromqtt/protocol/packets.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace coromqtt::protocol::detail {

struct plain_publish {
  std::string_view topic;
  byte_view payload;
  protocol::qos qos = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;  // QoS 1 and 2 only
};

// The bytes encode() writes for the equivalent protocol::publish (no properties, no topic alias), or 0 when
// they do not fit in `out` or that publish could not be encoded (then encode() or encoded_size() of it says
// why). Checks what encode() checks; the topic's content is the caller's to validate, as for encode().
std::size_t encode_plain_publish(const plain_publish&, protocol_version, std::span<std::uint8_t> out) noexcept;

}  // namespace coromqtt::protocol::detail
