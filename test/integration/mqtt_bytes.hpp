// Hand-written MQTT packets, just enough to prove that a transport carries a session both ways (the codec
// lives in lib/protocol; these tests must not depend on it). QoS 0 only; MQTT 3.1.1 and 5.0.
#pragma once

#include "transport/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace coromqtt::test::mqtt_bytes {

using bytes = std::vector<std::uint8_t>;

enum class version : std::uint8_t { v3_1_1 = 4, v5 = 5 };

enum packet_type : std::uint8_t {
  connect_type = 1,
  connack_type = 2,
  publish_type = 3,
  puback_type = 4,
  subscribe_type = 8,
  suback_type = 9,
  disconnect_type = 14,
};

inline void append_variable_length(bytes& out, std::size_t value) {
  do {
    auto digit = static_cast<std::uint8_t>(value % 128);
    value /= 128;
    out.push_back(value > 0 ? static_cast<std::uint8_t>(digit | 0x80) : digit);
  } while (value > 0);
}

inline void append_string(bytes& out, std::string_view text) {
  out.push_back(static_cast<std::uint8_t>(text.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(text.size() & 0xff));
  out.insert(out.end(), text.begin(), text.end());
}

// A fixed header (type and flags, remaining length) before `body`.
inline bytes packet(std::uint8_t first_byte, const bytes& body) {
  bytes out{first_byte};
  append_variable_length(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// CONNECT with a clean start, no will, no credentials. For 3.1.1 and client id "c" that is the classic
// 10 0d 00 04 'M' 'Q' 'T' 'T' 04 02 00 3c 00 01 'c'.
// With `clean_start` false (3.1.1: clean session 0), the broker keeps the session (v5: for a day).
inline bytes connect(version protocol, std::string_view client_id, bool clean_start = true,
                     std::uint16_t keep_alive = 60) {
  bytes body;
  append_string(body, "MQTT");
  body.push_back(static_cast<std::uint8_t>(protocol));
  body.push_back(clean_start ? 0x02 : 0x00);  // connect flags: clean session / clean start
  body.push_back(static_cast<std::uint8_t>(keep_alive >> 8));
  body.push_back(static_cast<std::uint8_t>(keep_alive & 0xff));
  if (protocol == version::v5) {
    if (clean_start) {
      body.push_back(0x00);  // no properties
    } else {
      body.insert(body.end(), {0x05, 0x11, 0x00, 0x01, 0x51, 0x80});  // Session Expiry Interval 86400 s
    }
  }
  append_string(body, client_id);
  return packet(connect_type << 4, body);
}

// CONNECT with a user name and password (3.1.1 or 5.0), clean start.
inline bytes connect_with_credentials(version protocol, std::string_view client_id,
                                      std::string_view user_name, std::string_view password) {
  bytes body;
  append_string(body, "MQTT");
  body.push_back(static_cast<std::uint8_t>(protocol));
  body.push_back(0xc2);  // user name, password, clean start
  body.push_back(0x00);
  body.push_back(60);
  if (protocol == version::v5) body.push_back(0x00);
  append_string(body, client_id);
  append_string(body, user_name);
  append_string(body, password);
  return packet(connect_type << 4, body);
}

inline bytes subscribe(version protocol, std::uint16_t packet_id, std::string_view filter,
                       std::uint8_t qos = 0) {
  bytes body{static_cast<std::uint8_t>(packet_id >> 8), static_cast<std::uint8_t>(packet_id & 0xff)};
  if (protocol == version::v5) body.push_back(0x00);  // no properties
  append_string(body, filter);
  body.push_back(qos);
  return packet((subscribe_type << 4) | 0x02, body);
}

// PUBLISH at QoS 0, or at QoS 1 with `packet_id`.
inline bytes publish(version protocol, std::string_view topic, std::span<const std::uint8_t> payload,
                     std::uint16_t qos1_packet_id = 0) {
  bytes body;
  append_string(body, topic);
  if (qos1_packet_id != 0) {
    body.push_back(static_cast<std::uint8_t>(qos1_packet_id >> 8));
    body.push_back(static_cast<std::uint8_t>(qos1_packet_id & 0xff));
  }
  if (protocol == version::v5) body.push_back(0x00);  // no properties
  body.insert(body.end(), payload.begin(), payload.end());
  return packet(static_cast<std::uint8_t>((publish_type << 4) | (qos1_packet_id != 0 ? 0x02 : 0x00)), body);
}

inline bytes puback(std::uint16_t packet_id) {
  return {puback_type << 4, 0x02, static_cast<std::uint8_t>(packet_id >> 8),
          static_cast<std::uint8_t>(packet_id & 0xff)};
}

inline bytes disconnect() {
  return {disconnect_type << 4, 0x00};
}

struct received_packet {
  std::uint8_t first_byte = 0;
  bytes body;
  std::uint8_t type() const { return first_byte >> 4; }
};

// Reads one whole packet, however the transport cuts the bytes (TLS records, WebSocket frames), keeping what
// follows it in `pending` for the next call. Sets `ec` when the transport fails first. `Stream` is a
// detail::transport, or anything with the same `co_await read_some(buffer, ec)` (scripted_broker.hpp).
template <class Stream = detail::transport>
boost::asio::awaitable<received_packet> read_packet(Stream& transport, bytes& pending,
                                                    boost::system::error_code& ec) {
  auto complete_length = [&]() -> std::size_t {  // 0 while the packet is not complete
    std::size_t remaining = 0;
    for (std::size_t i = 1, shift = 0; i < pending.size() && i <= 4; ++i, shift += 7) {
      remaining |= static_cast<std::size_t>(pending[i] & 0x7f) << shift;
      if ((pending[i] & 0x80) == 0) {
        std::size_t total = i + 1 + remaining;
        return pending.size() >= total ? total : 0;
      }
    }
    return 0;
  };
  std::vector<std::uint8_t> chunk(64 * 1024);
  while (complete_length() == 0) {
    std::size_t n = co_await transport.read_some(boost::asio::buffer(chunk), ec);
    if (ec) co_return received_packet{};
    pending.insert(pending.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  }
  std::size_t total = complete_length();
  std::size_t header = 1;
  while (pending[header] & 0x80) ++header;
  received_packet result{pending[0], bytes(pending.begin() + static_cast<std::ptrdiff_t>(header + 1),
                                           pending.begin() + static_cast<std::ptrdiff_t>(total))};
  pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(total));
  co_return result;
}

// PUBLISH -> payload.
inline bytes publish_payload(version protocol, const received_packet& publish) {
  const bytes& body = publish.body;
  std::size_t offset = 2 + ((static_cast<std::size_t>(body.at(0)) << 8) | body.at(1));
  if ((publish.first_byte & 0x06) != 0) offset += 2;  // QoS > 0: packet identifier
  if (protocol == version::v5) {                      // skip the properties
    std::size_t properties = 0;
    for (std::size_t shift = 0;; shift += 7) {
      std::uint8_t digit = body.at(offset++);
      properties |= static_cast<std::size_t>(digit & 0x7f) << shift;
      if ((digit & 0x80) == 0) break;
    }
    offset += properties;
  }
  return bytes(body.begin() + static_cast<std::ptrdiff_t>(offset), body.end());
}

}  // namespace coromqtt::test::mqtt_bytes
