// Encoding and decoding of control packets. Sans-I/O: bytes in, packets out; packets in, bytes out.
//
// Decoding is zero-copy: strings, binary fields and lists in the decoded packet are views into the input, and
// nothing is allocated. Encoding writes into storage the caller provides, sized by encoded_size() first.
#pragma once

#include <coromqtt/protocol/error.hpp>
#include <coromqtt/protocol/packets.hpp>
#include <coromqtt/protocol/types.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace coromqtt::protocol {

// ---------------------------------------------------------------------------------------------------------
// Framing

// What the first bytes of a buffer say about the packet that starts there.
struct frame_header {
  std::uint8_t first_byte = 0;          // packet type (high nibble) and flags (low nibble)
  std::size_t header_size = 0;          // 2..5: the first byte and the remaining-length bytes
  std::uint32_t remaining_length = 0;
  packet_type type() const noexcept { return static_cast<packet_type>(first_byte >> 4); }
  std::uint8_t flags() const noexcept { return first_byte & 0x0F; }
  std::size_t packet_size() const noexcept { return header_size + remaining_length; }
};

enum class frame_status {
  complete,   // a whole packet is in the buffer
  need_more,  // not yet; `needed` says how many bytes in total, when the header is complete enough to know
  error,      // the bytes can never become a valid packet
};

struct frame_result {
  frame_status status = frame_status::need_more;
  frame_header header{};
  std::size_t needed = 0;  // for need_more: total bytes the packet needs (0 while the length is still unknown)
  std::error_code error{};
};

// Reads the fixed header at the start of `input` and checks the packet size against `maximum_packet_size`
// before anything is buffered for it, so a peer cannot make the reader grow its buffer past that limit.
frame_result read_frame(byte_view input, std::uint32_t maximum_packet_size = max_packet_size) noexcept;

// ---------------------------------------------------------------------------------------------------------
// Decoding

struct decode_options {
  // Packets larger than this (fixed header included) are rejected with error::packet_too_large, the MQTT 5
  // "Maximum Packet Size" this side announced [MQTT-3.1.2-24].
  std::uint32_t maximum_packet_size = max_packet_size;
};

struct decode_result {
  frame_status status = frame_status::need_more;
  std::size_t size = 0;    // complete: bytes the packet occupies; need_more: total needed if known, else 0
  std::error_code error{};
  // Valid when status == complete. Starts as the empty PINGREQ rather than the variant's default (a CONNECT,
  // 400 bytes to clear on every call).
  protocol::packet packet{std::in_place_type<pingreq>};
};

// Decodes the packet at the start of `input` (bytes after it are left alone: decode again from
// input.subspan(result.size)). `version` is the protocol version of the connection; a CONNECT is decoded with
// the version it declares itself. Every field is validated: the result is either a packet that satisfies the
// standard's well-formedness rules or a specific error, whose reason_for() is the code to disconnect with.
// Allocates nothing.
decode_result decode(byte_view input, protocol_version version, const decode_options& = {});

// Decodes a packet whose fixed header has already been read by read_frame(); `packet_bytes` is the whole
// packet (header included, exactly header.packet_size() bytes). Returns the error, or stores the packet in
// `out`; on error `out` holds an unspecified, partly decoded packet.
std::error_code decode_packet(const frame_header&, byte_view packet_bytes, protocol_version, packet& out);

// ---------------------------------------------------------------------------------------------------------
// Encoding

struct encoded_size_result {
  std::size_t size = 0;  // total bytes, fixed header included
  std::error_code error{};  // the packet cannot be encoded: field_too_long, packet_too_large, properties_in_v3, ...
};

// The exact number of bytes encode() writes for this packet. Checks everything that would make the bytes
// invalid regardless of content (lengths, the 3.1.1 restrictions, the packet identifier rules, reason codes
// the packet may not carry, property values out of range); the caller is responsible for content rules such
// as topic syntax (see topic.hpp) and UTF-8 validity (utf8.hpp). A CONNECT is encoded with the version it
// declares (connect::version), whatever `version` says.
encoded_size_result encoded_size(const packet&, protocol_version);
encoded_size_result encoded_size(const publish&, protocol_version);

// Writes the packet into `out` and returns the number of bytes written, encoded_size(p, v).size. Returns 0,
// writing nothing, when the packet cannot be encoded (encoded_size() reports why) or `out` is too small, so a
// writer may encode straight into the free space of its buffer and call encoded_size() only on 0.
// Allocates nothing. The PUBLISH overloads are the hot path: no variant dispatch.
std::size_t encode(const packet&, protocol_version, std::span<std::uint8_t> out) noexcept;
std::size_t encode(const publish&, protocol_version, std::span<std::uint8_t> out) noexcept;

}  // namespace coromqtt::protocol
