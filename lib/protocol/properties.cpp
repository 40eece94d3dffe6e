// Iteration over the repeatable properties left on the wire, and equality of the property structs.
#include <coromqtt/protocol/properties.hpp>

#include "property_codec.hpp"
#include "wire.hpp"

namespace coromqtt::protocol {
namespace detail {

// These run over a block that read_properties() has validated: every identifier is known and every value
// lies inside the block, so no bounds checks are needed here.
const std::uint8_t* after_property(const std::uint8_t* at) noexcept {
  const property_descriptor* descriptor = describe(*at);
  if (descriptor == nullptr) return at + 1;  // cannot happen in a validated block
  return at + 1 + value_size(descriptor->type, at + 1);
}

const std::uint8_t* find_property(const std::uint8_t* at, const std::uint8_t* end, property_id wanted) noexcept {
  while (at < end && *at != static_cast<std::uint8_t>(wanted)) at = after_property(at);
  return at < end ? at : end;
}

namespace {
std::string_view prefixed_string(const std::uint8_t* at) noexcept {
  return {reinterpret_cast<const char*>(at + 2), std::size_t{at[0]} << 8 | at[1]};
}
}  // namespace

user_property user_property_layout::read(const std::uint8_t* at) noexcept {
  const std::string_view name = prefixed_string(at + 1);
  const std::string_view value = prefixed_string(at + 1 + 2 + name.size());
  return {name, value};
}

std::uint32_t subscription_identifier_layout::read(const std::uint8_t* at) noexcept {
  return read_variable_byte_integer(at + 1, at + 5).value;
}

}  // namespace detail

bool operator==(const publish_properties& a, const publish_properties& b) noexcept {
  return detail::properties_equal(a, b);
}
bool operator==(const will_properties& a, const will_properties& b) noexcept {
  return detail::properties_equal(a, b);
}
bool operator==(const connect_properties& a, const connect_properties& b) noexcept {
  return detail::properties_equal(a, b);
}
bool operator==(const connack_properties& a, const connack_properties& b) noexcept {
  return detail::properties_equal(a, b);
}
bool operator==(const ack_properties& a, const ack_properties& b) noexcept { return detail::properties_equal(a, b); }
bool operator==(const subscribe_properties& a, const subscribe_properties& b) noexcept {
  return detail::properties_equal(a, b);
}
bool operator==(const unsubscribe_properties& a, const unsubscribe_properties& b) noexcept {
  return detail::properties_equal(a, b);
}
bool operator==(const disconnect_properties& a, const disconnect_properties& b) noexcept {
  return detail::properties_equal(a, b);
}
bool operator==(const auth_properties& a, const auth_properties& b) noexcept {
  return detail::properties_equal(a, b);
}

}  // namespace coromqtt::protocol
