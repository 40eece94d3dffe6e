// A set of packet kinds, one bit per packet type, used by the tables that say which packets may carry a
// property or a reason code.
#pragma once

#include <coromqtt/protocol/types.hpp>

#include <cstdint>

namespace coromqtt::protocol::detail {

using packet_mask = std::uint16_t;

constexpr packet_mask bit(packet_type type) noexcept {
  return static_cast<packet_mask>(1u << static_cast<unsigned>(type));
}

// Will Properties are a property set of their own inside CONNECT [MQTT-3.1.3.2]. Packet type 0 is reserved
// and never carries anything, so its bit names them.
inline constexpr packet_mask will_properties_mask = 1u;

template <class... Types>
constexpr packet_mask any_of(Types... types) noexcept {
  return static_cast<packet_mask>((bit(types) | ...));
}

}  // namespace coromqtt::protocol::detail
