// Reading, writing, comparing and emptiness of the per-packet property structs, all driven by the property
// table. Each struct is bound to the table once, as a list of (identifier, member) pairs; the compiler checks
// that the binding and the table agree (the member can hold the table's type, and the struct has exactly the
// properties the table allows for the packets that use it), so the standard's table is transcribed once.
#pragma once

#include <coromqtt/protocol/properties.hpp>
#include <coromqtt/protocol/topic.hpp>

#include "packet_mask.hpp"
#include "property_table.hpp"
#include "wire.hpp"

#include <algorithm>
#include <optional>
#include <tuple>
#include <type_traits>

namespace coromqtt::protocol::detail {

template <class Struct, class Member>
struct bound_property {
  property_id id;
  Member Struct::*member;
};
// Spelled out for compilers without class template argument deduction for aggregates (clang before 17).
template <class Struct, class Member>
bound_property(property_id, Member Struct::*) -> bound_property<Struct, Member>;

// Specialised below for each property struct: `fields` binds members to identifiers, `carried_by` names the
// packets that use the struct.
template <class Properties>
struct property_binding;

template <>
struct property_binding<publish_properties> {
  using s = publish_properties;
  static constexpr packet_mask carried_by = bit(packet_type::publish);
  static constexpr std::tuple fields{
      bound_property{property_id::payload_format_indicator, &s::payload_format_indicator},
      bound_property{property_id::message_expiry_interval, &s::message_expiry_interval},
      bound_property{property_id::topic_alias, &s::topic_alias},
      bound_property{property_id::response_topic, &s::response_topic},
      bound_property{property_id::correlation_data, &s::correlation_data},
      bound_property{property_id::user_property, &s::user_properties},
      bound_property{property_id::subscription_identifier, &s::subscription_identifiers},
      bound_property{property_id::content_type, &s::content_type},
  };
};

template <>
struct property_binding<will_properties> {
  using s = will_properties;
  static constexpr packet_mask carried_by = will_properties_mask;
  static constexpr std::tuple fields{
      bound_property{property_id::will_delay_interval, &s::will_delay_interval},
      bound_property{property_id::payload_format_indicator, &s::payload_format_indicator},
      bound_property{property_id::message_expiry_interval, &s::message_expiry_interval},
      bound_property{property_id::content_type, &s::content_type},
      bound_property{property_id::response_topic, &s::response_topic},
      bound_property{property_id::correlation_data, &s::correlation_data},
      bound_property{property_id::user_property, &s::user_properties},
  };
};

template <>
struct property_binding<connect_properties> {
  using s = connect_properties;
  static constexpr packet_mask carried_by = bit(packet_type::connect);
  static constexpr std::tuple fields{
      bound_property{property_id::session_expiry_interval, &s::session_expiry_interval},
      bound_property{property_id::receive_maximum, &s::receive_maximum},
      bound_property{property_id::maximum_packet_size, &s::maximum_packet_size},
      bound_property{property_id::topic_alias_maximum, &s::topic_alias_maximum},
      bound_property{property_id::request_response_information, &s::request_response_information},
      bound_property{property_id::request_problem_information, &s::request_problem_information},
      bound_property{property_id::user_property, &s::user_properties},
      bound_property{property_id::authentication_method, &s::authentication_method},
      bound_property{property_id::authentication_data, &s::authentication_data},
  };
};

template <>
struct property_binding<connack_properties> {
  using s = connack_properties;
  static constexpr packet_mask carried_by = bit(packet_type::connack);
  static constexpr std::tuple fields{
      bound_property{property_id::session_expiry_interval, &s::session_expiry_interval},
      bound_property{property_id::receive_maximum, &s::receive_maximum},
      bound_property{property_id::maximum_qos, &s::maximum_qos},
      bound_property{property_id::retain_available, &s::retain_available},
      bound_property{property_id::maximum_packet_size, &s::maximum_packet_size},
      bound_property{property_id::assigned_client_identifier, &s::assigned_client_identifier},
      bound_property{property_id::topic_alias_maximum, &s::topic_alias_maximum},
      bound_property{property_id::reason_string, &s::reason_string},
      bound_property{property_id::user_property, &s::user_properties},
      bound_property{property_id::wildcard_subscription_available, &s::wildcard_subscription_available},
      bound_property{property_id::subscription_identifier_available, &s::subscription_identifier_available},
      bound_property{property_id::shared_subscription_available, &s::shared_subscription_available},
      bound_property{property_id::server_keep_alive, &s::server_keep_alive},
      bound_property{property_id::response_information, &s::response_information},
      bound_property{property_id::server_reference, &s::server_reference},
      bound_property{property_id::authentication_method, &s::authentication_method},
      bound_property{property_id::authentication_data, &s::authentication_data},
  };
};

template <>
struct property_binding<ack_properties> {
  using s = ack_properties;
  static constexpr packet_mask carried_by =
      any_of(packet_type::puback, packet_type::pubrec, packet_type::pubrel, packet_type::pubcomp,
             packet_type::suback, packet_type::unsuback);
  static constexpr std::tuple fields{
      bound_property{property_id::reason_string, &s::reason_string},
      bound_property{property_id::user_property, &s::user_properties},
  };
};

template <>
struct property_binding<subscribe_properties> {
  using s = subscribe_properties;
  static constexpr packet_mask carried_by = bit(packet_type::subscribe);
  static constexpr std::tuple fields{
      bound_property{property_id::subscription_identifier, &s::subscription_identifier},
      bound_property{property_id::user_property, &s::user_properties},
  };
};

template <>
struct property_binding<unsubscribe_properties> {
  using s = unsubscribe_properties;
  static constexpr packet_mask carried_by = bit(packet_type::unsubscribe);
  static constexpr std::tuple fields{
      bound_property{property_id::user_property, &s::user_properties},
  };
};

template <>
struct property_binding<disconnect_properties> {
  using s = disconnect_properties;
  static constexpr packet_mask carried_by = bit(packet_type::disconnect);
  static constexpr std::tuple fields{
      bound_property{property_id::session_expiry_interval, &s::session_expiry_interval},
      bound_property{property_id::reason_string, &s::reason_string},
      bound_property{property_id::user_property, &s::user_properties},
      bound_property{property_id::server_reference, &s::server_reference},
  };
};

template <>
struct property_binding<auth_properties> {
  using s = auth_properties;
  static constexpr packet_mask carried_by = bit(packet_type::auth);
  static constexpr std::tuple fields{
      bound_property{property_id::authentication_method, &s::authentication_method},
      bound_property{property_id::authentication_data, &s::authentication_data},
      bound_property{property_id::reason_string, &s::reason_string},
      bound_property{property_id::user_property, &s::user_properties},
  };
};

template <class Properties, class Visitor>
constexpr void for_each_field(Visitor&& visit) {
  std::apply([&](const auto&... field) { (visit(field), ...); }, property_binding<Properties>::fields);
}

// ---------------------------------------------------------------------------------------------------------
// The compile-time agreement between bindings and table.

template <class Member>
constexpr bool member_holds(value_type type) noexcept {
  using enum value_type;
  if constexpr (std::is_same_v<Member, std::optional<std::uint8_t>> || std::is_same_v<Member, std::optional<bool>>)
    return type == byte;
  else if constexpr (std::is_same_v<Member, std::optional<std::uint16_t>>)
    return type == two_byte_integer;
  else if constexpr (std::is_same_v<Member, std::optional<std::uint32_t>> ||
                     std::is_same_v<Member, subscription_identifier_list>)
    return type == four_byte_integer || type == variable_byte_integer;
  else if constexpr (std::is_same_v<Member, std::optional<std::string_view>>)
    return type == utf8_string;
  else if constexpr (std::is_same_v<Member, std::optional<byte_view>>)
    return type == binary_data;
  else if constexpr (std::is_same_v<Member, user_property_list>)
    return type == utf8_string_pair;
  else
    return false;
}

template <class Properties>
consteval bool binding_matches_table() {
  constexpr packet_mask packets = property_binding<Properties>::carried_by;
  bool ok = true;
  std::uint64_t bound = 0;
  for_each_field<Properties>([&]<class S, class M>(const bound_property<S, M>& field) {
    // Searched by value rather than through describe(): pointer comparisons in constant evaluation trip
    // GCC when the sanitizers instrument them.
    bool described = false;
    for (const property_descriptor& descriptor : table::properties) {
      if (descriptor.id != field.id) continue;
      described = true;
      // A bool member is a yes/no byte: the table must restrict it to 0 and 1.
      ok = ok && member_holds<M>(descriptor.type) && (descriptor.carried_by & packets) == packets &&
           (!std::is_same_v<M, std::optional<bool>> || descriptor.rule == value_rule::zero_or_one);
    }
    ok = ok && described;
    bound |= std::uint64_t{1} << static_cast<unsigned>(field.id);
  });
  for (const auto& descriptor : table::properties) {
    const bool allowed = (descriptor.carried_by & packets) != 0;
    const bool present = (bound >> static_cast<unsigned>(descriptor.id)) & 1;
    ok = ok && allowed == present;
  }
  return ok;
}

static_assert(binding_matches_table<publish_properties>());
static_assert(binding_matches_table<will_properties>());
static_assert(binding_matches_table<connect_properties>());
static_assert(binding_matches_table<connack_properties>());
static_assert(binding_matches_table<ack_properties>());
static_assert(binding_matches_table<subscribe_properties>());
static_assert(binding_matches_table<unsubscribe_properties>());
static_assert(binding_matches_table<disconnect_properties>());
static_assert(binding_matches_table<auth_properties>());

// ---------------------------------------------------------------------------------------------------------
// Decoding

struct property_value {
  std::uint32_t number = 0;
  byte_view binary{};
  std::string_view text{};
};

// Reads one value of the descriptor's type and checks its rule.
inline property_value read_property_value(wire_reader& in, const property_descriptor& descriptor) noexcept {
  property_value value;
  switch (descriptor.type) {
    case value_type::byte: value.number = in.byte(); break;
    case value_type::two_byte_integer: value.number = in.two_byte_integer(); break;
    case value_type::four_byte_integer: value.number = in.four_byte_integer(); break;
    case value_type::variable_byte_integer: value.number = in.variable_byte_integer(); break;
    case value_type::utf8_string: value.text = in.utf8_string(); break;
    case value_type::binary_data: value.binary = in.binary_data(); break;
    case value_type::utf8_string_pair:
      in.utf8_string();
      in.utf8_string();
      break;
  }
  if (!in.ok()) return value;
  switch (descriptor.rule) {
    case value_rule::any: break;
    case value_rule::nonzero:
      if (value.number == 0)
        in.fail(descriptor.id == property_id::topic_alias ? error::invalid_topic_alias
                                                          : error::invalid_property_value);
      break;
    case value_rule::zero_or_one:
      if (value.number > 1) in.fail(error::invalid_property_value);
      break;
    case value_rule::topic_name:
      if (failed(topic_name_error(value.text))) in.fail(error::invalid_property_value);
      break;
  }
  return value;
}

template <class T>
void store_once(std::optional<T>& slot, T value, wire_reader& in) noexcept {
  if (slot.has_value())
    in.fail(error::duplicate_property);  // a Protocol Error for every property but the repeatable two
  else
    slot = value;
}

// The repeatable properties stay on the wire: the list views the whole block and counts its occurrences.
template <class List>
void store_occurrence(List& list, byte_view block) noexcept {
  list = List::from_wire(block, list.size() + 1);
}

// Reads a Property Length and the properties after it [MQTT-2.2.2] into `out`, which must be default
// constructed. `packet` is the packet (or the will) the block belongs to.
template <class Properties>
void read_properties(wire_reader& in, packet_mask packet, Properties& out) noexcept {
  const std::uint32_t length = in.variable_byte_integer();
  const byte_view block = in.bytes(length);
  if (!in.ok()) return;
  wire_reader properties{block};
  while (properties.ok() && !properties.at_end()) {
    const std::uint32_t id = properties.variable_byte_integer();
    if (!properties.ok()) break;
    const property_descriptor* descriptor = describe(id);
    if (descriptor == nullptr) {
      properties.fail(error::unknown_property);
      break;
    }
    if ((descriptor->carried_by & packet) == 0) {
      properties.fail(error::property_not_allowed);
      break;
    }
    const property_value value = read_property_value(properties, *descriptor);
    if (!properties.ok()) break;
    for_each_field<Properties>([&]<class S, class M>(const bound_property<S, M>& field) {
      if (field.id != descriptor->id) return;
      M& member = out.*field.member;
      if constexpr (std::is_same_v<M, std::optional<std::string_view>>)
        store_once(member, value.text, properties);
      else if constexpr (std::is_same_v<M, std::optional<byte_view>>)
        store_once(member, value.binary, properties);
      else if constexpr (std::is_same_v<M, std::optional<bool>>)
        store_once(member, value.number != 0, properties);
      else if constexpr (std::is_same_v<M, user_property_list> || std::is_same_v<M, subscription_identifier_list>)
        store_occurrence(member, block);
      else
        store_once(member, static_cast<typename M::value_type>(value.number), properties);
    });
  }
  if (!properties.ok()) in.fail(properties.error());
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

template <class Sink>
void put_number(Sink& out, const property_descriptor& descriptor, std::uint32_t value) noexcept {
  if constexpr (Sink::measuring) {
    const bool invalid = (descriptor.rule == value_rule::nonzero && value == 0) ||
                         (descriptor.rule == value_rule::zero_or_one && value > 1) ||
                         (descriptor.type == value_type::variable_byte_integer && value > max_variable_byte_integer);
    if (invalid)
      out.fail(descriptor.id == property_id::topic_alias ? error::invalid_topic_alias
                                                         : error::invalid_property_value);
  }
  switch (descriptor.type) {
    case value_type::byte: out.byte(static_cast<std::uint8_t>(value)); break;
    case value_type::two_byte_integer: out.two_byte_integer(static_cast<std::uint16_t>(value)); break;
    case value_type::four_byte_integer: out.four_byte_integer(value); break;
    case value_type::variable_byte_integer:
      out.variable_byte_integer(std::min(value, max_variable_byte_integer));
      break;
    default: break;
  }
}

template <class Sink, class Member>
void put_property(Sink& out, const property_descriptor& descriptor, const Member& member) noexcept {
  const auto id = static_cast<std::uint8_t>(descriptor.id);
  if constexpr (std::is_same_v<Member, user_property_list> || std::is_same_v<Member, subscription_identifier_list>)
    if (member.empty()) return;
  if constexpr (std::is_same_v<Member, user_property_list>) {
    for (const user_property property : member) {
      out.byte(id);
      out.utf8_string(property.name);
      out.utf8_string(property.value);
    }
  } else if constexpr (std::is_same_v<Member, subscription_identifier_list>) {
    for (const std::uint32_t value : member) {
      out.byte(id);
      put_number(out, descriptor, value);
    }
  } else if (member.has_value()) {
    out.byte(id);
    if constexpr (std::is_same_v<Member, std::optional<std::string_view>>)
      out.utf8_string(*member);
    else if constexpr (std::is_same_v<Member, std::optional<byte_view>>)
      out.binary_data(*member);
    else
      put_number(out, descriptor, static_cast<std::uint32_t>(*member));
  }
}

template <class Sink, class Properties>
void put_property_fields(Sink& out, const Properties& properties) noexcept {
  for_each_field<Properties>([&](const auto& field) {
    put_property(out, *describe(static_cast<std::uint32_t>(field.id)), properties.*field.member);
  });
}

// Writes the Property Length and the properties [MQTT-2.2.2]; an empty set is a Property Length of 0
// [MQTT-2.2.2-1].
template <class Sink, class Properties>
void put_properties(Sink& out, const Properties& properties) noexcept {
  if constexpr (Sink::measuring) {
    size_counter block;
    put_property_fields(block, properties);
    const auto length = static_cast<std::uint32_t>(std::min<std::size_t>(block.size(), UINT32_MAX));
    out.record_property_block(length);
    out.variable_byte_integer(length);
    out.add(block);
  } else {
    // Measured when the packet was: the writer only writes.
    std::optional<std::uint32_t> length = out.next_property_block();
    if (!length) {
      size_counter block;
      put_property_fields(block, properties);
      length = static_cast<std::uint32_t>(block.size());
    }
    out.variable_byte_integer(*length);
    put_property_fields(out, properties);
  }
}

template <class Properties>
std::size_t properties_size(const Properties& properties) noexcept {
  size_counter counter;
  put_properties(counter, properties);
  return counter.size();
}

// ---------------------------------------------------------------------------------------------------------
// Emptiness and equality

template <class Properties>
bool properties_empty(const Properties& properties) noexcept {
  bool empty = true;
  for_each_field<Properties>([&](const auto& field) {
    const auto& member = properties.*field.member;
    if constexpr (requires { member.has_value(); })
      empty = empty && !member.has_value();
    else
      empty = empty && member.empty();
  });
  return empty;
}

inline bool same_bytes(byte_view a, byte_view b) noexcept { return std::ranges::equal(a, b); }

template <class Properties>
bool properties_equal(const Properties& a, const Properties& b) noexcept {
  bool equal = true;
  for_each_field<Properties>([&]<class S, class M>(const bound_property<S, M>& field) {
    const M& left = a.*field.member;
    const M& right = b.*field.member;
    if constexpr (std::is_same_v<M, std::optional<byte_view>>)
      equal = equal && left.has_value() == right.has_value() && (!left || same_bytes(*left, *right));
    else
      equal = equal && left == right;
  });
  return equal;
}

}  // namespace coromqtt::protocol::detail
