// Table 2-6 of the MQTT 5 standard as data: every reason code, its name, and the packets that may carry it.
#pragma once

#include <coromqtt/protocol/reason_code.hpp>

#include "packet_mask.hpp"

#include <string_view>

namespace coromqtt::protocol::detail {

struct reason_descriptor {
  reason_code code;
  std::string_view name;
  packet_mask carried_by;
};

// Whether `code` is one the standard lets `type` carry [MQTT-3.2.2-8], [MQTT-3.4.2-1], [MQTT-3.5.2-1],
// [MQTT-3.6.2-1], [MQTT-3.7.2-1], [MQTT-3.9.3-2], [MQTT-3.11.3-2], [MQTT-3.14.2-1], [MQTT-3.15.2-1].
bool reason_allowed(reason_code code, packet_type type) noexcept;

}  // namespace coromqtt::protocol::detail
