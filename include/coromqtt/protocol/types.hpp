// Basic vocabulary of the MQTT wire format: versions, QoS levels, packet types, byte views.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace coromqtt::protocol {

// Bytes on the wire. Decoded packets hold views into the caller's input buffer (zero-copy), so a decoded
// packet is valid only as long as that buffer is.
using byte_view = std::span<const std::uint8_t>;

// The protocol level byte of CONNECT [MQTT-3.1.2-2].
enum class protocol_version : std::uint8_t {
  v3_1_1 = 4,
  v5 = 5,
};

enum class qos : std::uint8_t {
  at_most_once = 0,
  at_least_once = 1,
  exactly_once = 2,
};

// The high nibble of the first byte of every control packet [MQTT-2.1.2].
enum class packet_type : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,  // MQTT 5 only
};

std::string_view to_string(protocol_version) noexcept;
std::string_view to_string(qos) noexcept;
std::string_view to_string(packet_type) noexcept;

// Largest value a Variable Byte Integer can carry in four bytes [MQTT-1.5.5].
inline constexpr std::uint32_t max_variable_byte_integer = 268'435'455;

// Largest packet the protocol allows: 1 byte type, 4 bytes remaining length, 268,435,455 bytes.
inline constexpr std::uint32_t max_packet_size = 1 + 4 + max_variable_byte_integer;

}  // namespace coromqtt::protocol
