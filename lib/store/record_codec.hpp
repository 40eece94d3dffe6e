// The bytes of the file store's log: a record is
//
//   +-----------------+-----------------+------+-----------------+
//   | length (u32 LE) | CRC-32C (u32 LE)| type | payload ...     |   length = bytes of payload
//   +-----------------+-----------------+------+-----------------+   CRC over type and payload
//
// Integers are little-endian, strings a u32 length then the bytes. A record whose header or checksum does not
// hold ends what can be trusted in its segment (a torn tail after a crash, or damage).
#pragma once

#include "store/store_state.hpp"

#include <coromqtt/store.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace coromqtt::detail {

inline constexpr std::size_t record_header_size = 9;
inline constexpr std::uint8_t checkpoint_type = 100;  // beside the store_record::type values
// A larger length is damage, not a record (an MQTT packet is at most 256 MiB).
inline constexpr std::uint32_t max_record_payload = 300u * 1024 * 1024;

std::uint32_t crc32c(std::span<const std::uint8_t>, std::uint32_t crc = 0) noexcept;

// Appends the framed record to `out`.
void encode_record(const store_record&, std::vector<std::uint8_t>& out);
void encode_checkpoint(const store_state::image&, std::vector<std::uint8_t>& out);

enum class frame_check { complete, need_more, damaged };
struct frame {
  frame_check check = frame_check::need_more;
  std::uint8_t type = 0;
  std::span<const std::uint8_t> payload;
  std::size_t size = 0;  // header + payload
};
// Looks at the record at the start of `bytes`.
frame read_record_frame(std::span<const std::uint8_t> bytes) noexcept;

// Decode a payload; false when it does not parse (then it is damage, whatever its checksum said).
bool decode_record(std::uint8_t type, std::span<const std::uint8_t> payload, store_record& out);
bool decode_checkpoint(std::span<const std::uint8_t> payload, store_state::image& out);
// Only the sequence number of a message_added payload (to skip messages without decoding them).
bool peek_added_seq(std::span<const std::uint8_t> payload, std::uint64_t& seq) noexcept;

}  // namespace coromqtt::detail
