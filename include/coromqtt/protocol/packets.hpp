// The fifteen MQTT control packets as plain structs [MQTT-3]. One set of types serves MQTT 3.1.1 and 5.0:
// the version is given to the encoder and decoder, and fields that 3.1.1 lacks (properties, most reason codes)
// must be left empty when encoding for it.
//
// Strings and binary fields are views: of the caller's data when encoding, of the input buffer when decoding.
#pragma once

#include <coromqtt/protocol/encoded_list.hpp>
#include <coromqtt/protocol/properties.hpp>
#include <coromqtt/protocol/reason_code.hpp>
#include <coromqtt/protocol/types.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

namespace coromqtt::protocol {

struct will {
  std::string_view topic{};
  byte_view payload{};
  protocol::qos qos = qos::at_most_once;
  bool retain = false;
  will_properties properties{};
  friend bool operator==(const will&, const will&) noexcept;
};

struct connect {
  protocol_version version = protocol_version::v5;
  bool clean_start = true;  // "Clean Session" in 3.1.1
  std::uint16_t keep_alive = 60;  // seconds, 0 = off
  std::string_view client_id{};
  std::optional<protocol::will> will{};
  std::optional<std::string_view> username{};
  std::optional<byte_view> password{};
  connect_properties properties{};
  friend bool operator==(const connect&, const connect&) noexcept;
};

struct connack {
  bool session_present = false;
  // For 3.1.1 the return codes 0-5 are translated: 1 unsupported protocol version (0x84), 2 client identifier
  // not valid (0x85), 3 server unavailable (0x88), 4 bad user name or password (0x86), 5 not authorized (0x87).
  reason_code reason = reason_code::success;
  connack_properties properties{};
  friend bool operator==(const connack&, const connack&) noexcept = default;
};

struct publish {
  std::string_view topic{};  // may be empty in MQTT 5 when a topic alias is set
  byte_view payload{};
  protocol::qos qos = qos::at_most_once;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;  // only for QoS 1 and 2 (not encoded for QoS 0)
  publish_properties properties{};
  friend bool operator==(const publish&, const publish&) noexcept;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape; in 3.1.1 they carry only the packet identifier.
// In MQTT 5, a reason code of success with no properties is encoded in its short form [MQTT-3.4.2.1].
template <packet_type Type>
struct publish_response {
  static constexpr packet_type type = Type;
  std::uint16_t packet_id = 0;
  reason_code reason = reason_code::success;
  ack_properties properties{};
  friend bool operator==(const publish_response&, const publish_response&) noexcept = default;
};
using puback = publish_response<packet_type::puback>;
using pubrec = publish_response<packet_type::pubrec>;
using pubrel = publish_response<packet_type::pubrel>;
using pubcomp = publish_response<packet_type::pubcomp>;

enum class retain_handling : std::uint8_t {
  send_at_subscribe = 0,
  send_at_subscribe_if_new = 1,
  dont_send = 2,
};

// Subscription Options byte [MQTT-3.8.3.1]; only max_qos exists in 3.1.1.
struct subscribe_options {
  protocol::qos max_qos = qos::at_most_once;
  bool no_local = false;
  bool retain_as_published = false;
  protocol::retain_handling retain_handling = retain_handling::send_at_subscribe;
  friend bool operator==(const subscribe_options&, const subscribe_options&) = default;
};

struct subscription {
  std::string_view filter{};
  subscribe_options options{};
  friend bool operator==(const subscription&, const subscription&) = default;
};

namespace detail {
// Layouts of the payload lists of SUBSCRIBE, UNSUBSCRIBE, SUBACK and UNSUBACK (see encoded_list.hpp).
struct sequential {
  static const std::uint8_t* first(const std::uint8_t* begin, const std::uint8_t*) noexcept { return begin; }
};
struct subscription_layout : sequential {  // 2-byte length, filter, options byte
  static const std::uint8_t* next(const std::uint8_t* at, const std::uint8_t*) noexcept {
    return at + 2 + (std::size_t{at[0]} << 8 | at[1]) + 1;
  }
  static subscription read(const std::uint8_t* at) noexcept;
};
struct topic_filter_layout : sequential {  // 2-byte length, filter
  static const std::uint8_t* next(const std::uint8_t* at, const std::uint8_t*) noexcept {
    return at + 2 + (std::size_t{at[0]} << 8 | at[1]);
  }
  static std::string_view read(const std::uint8_t* at) noexcept;
};
struct reason_code_layout : sequential {  // one byte each
  static const std::uint8_t* next(const std::uint8_t* at, const std::uint8_t*) noexcept { return at + 1; }
  static reason_code read(const std::uint8_t* at) noexcept { return static_cast<reason_code>(*at); }
};
}  // namespace detail

using subscription_list = encoded_list<subscription, detail::subscription_layout>;
using topic_filter_list = encoded_list<std::string_view, detail::topic_filter_layout>;
// SUBACK in 3.1.1 carries 0x00/0x01/0x02/0x80, which are the MQTT 5 codes of the same meaning.
using reason_code_list = encoded_list<reason_code, detail::reason_code_layout>;

struct subscribe {
  std::uint16_t packet_id = 0;
  subscription_list subscriptions{};  // at least one [MQTT-3.8.3-2]
  subscribe_properties properties{};
  friend bool operator==(const subscribe&, const subscribe&) noexcept = default;
};

struct suback {
  std::uint16_t packet_id = 0;
  reason_code_list reasons{};  // one per filter, in order
  ack_properties properties{};
  friend bool operator==(const suback&, const suback&) noexcept = default;
};

struct unsubscribe {
  std::uint16_t packet_id = 0;
  topic_filter_list filters{};  // at least one [MQTT-3.10.3-2]
  unsubscribe_properties properties{};
  friend bool operator==(const unsubscribe&, const unsubscribe&) noexcept = default;
};

struct unsuback {
  std::uint16_t packet_id = 0;
  reason_code_list reasons{};  // MQTT 5 only: one per filter; empty in 3.1.1
  ack_properties properties{};
  friend bool operator==(const unsuback&, const unsuback&) noexcept = default;
};

struct pingreq {
  friend bool operator==(const pingreq&, const pingreq&) noexcept = default;
};
struct pingresp {
  friend bool operator==(const pingresp&, const pingresp&) noexcept = default;
};

struct disconnect {
  // 3.1.1 DISCONNECT has no variable header; MQTT 5 omits it too for 0x00 without properties [MQTT-3.14.2.1].
  reason_code reason = reason_code::success;
  disconnect_properties properties{};
  friend bool operator==(const disconnect&, const disconnect&) noexcept = default;
};

struct auth {  // MQTT 5 only
  reason_code reason = reason_code::success;
  auth_properties properties{};
  friend bool operator==(const auth&, const auth&) noexcept = default;
};

// Alternatives in packet_type order: index + 1 == packet type value.
using packet = std::variant<connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback,
                            unsubscribe, unsuback, pingreq, pingresp, disconnect, auth>;

inline packet_type type_of(const packet& p) noexcept { return static_cast<packet_type>(p.index() + 1); }

}  // namespace coromqtt::protocol
