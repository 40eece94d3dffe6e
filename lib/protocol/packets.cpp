// Equality of the packets that hold binary views, and iteration over the payload lists left on the wire.
#include <coromqtt/protocol/packets.hpp>

#include "property_codec.hpp"

namespace coromqtt::protocol {
namespace detail {
namespace {
std::string_view prefixed_string(const std::uint8_t* at) noexcept {
  return {reinterpret_cast<const char*>(at + 2), std::size_t{at[0]} << 8 | at[1]};
}

bool same_optional_bytes(const std::optional<byte_view>& a, const std::optional<byte_view>& b) noexcept {
  return a.has_value() == b.has_value() && (!a || same_bytes(*a, *b));
}
}  // namespace

subscription subscription_layout::read(const std::uint8_t* at) noexcept {
  const std::string_view filter = prefixed_string(at);
  const std::uint8_t options = at[2 + filter.size()];
  return {filter,
          {static_cast<qos>(options & 0x03), (options & 0x04) != 0, (options & 0x08) != 0,
           static_cast<retain_handling>((options >> 4) & 0x03)}};
}

std::string_view topic_filter_layout::read(const std::uint8_t* at) noexcept { return prefixed_string(at); }

}  // namespace detail

// Binary fields compare by content: a decoded packet equals the packet it was encoded from.

bool operator==(const will& a, const will& b) noexcept {
  return a.topic == b.topic && detail::same_bytes(a.payload, b.payload) && a.qos == b.qos &&
         a.retain == b.retain && a.properties == b.properties;
}

bool operator==(const connect& a, const connect& b) noexcept {
  return a.version == b.version && a.clean_start == b.clean_start && a.keep_alive == b.keep_alive &&
         a.client_id == b.client_id && a.will == b.will && a.username == b.username &&
         detail::same_optional_bytes(a.password, b.password) && a.properties == b.properties;
}

bool operator==(const publish& a, const publish& b) noexcept {
  return a.topic == b.topic && detail::same_bytes(a.payload, b.payload) && a.qos == b.qos &&
         a.retain == b.retain && a.dup == b.dup && a.packet_id == b.packet_id && a.properties == b.properties;
}

}  // namespace coromqtt::protocol
