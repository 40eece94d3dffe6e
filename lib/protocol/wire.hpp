// The primitive data types of the MQTT wire format [MQTT-1.5]: a bounds-checked reader over received bytes,
// and two sinks with one interface for encoding, one that counts bytes and one that writes them. Encoders are
// written once against the sink interface and run twice (measure, then write), so encoded_size() and the
// bytes encode() writes cannot disagree.
#pragma once

#include <coromqtt/protocol/error.hpp>
#include <coromqtt/protocol/types.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

namespace coromqtt::protocol::detail {

// Inside the codec errors travel as the enum, 0 meaning none (the enumerators start at 1): a default
// std::error_code calls into libstdc++ (system_category()) each time one is made, which the hot path feels.
// std::error_code is built at the API boundary only.
inline constexpr protocol::error no_error{};
constexpr bool failed(protocol::error e) noexcept { return e != no_error; }
inline std::error_code to_error_code(protocol::error e) noexcept {
  return failed(e) ? make_error_code(e) : std::error_code{};
}

// The enum forms of validate_utf8(), validate_topic_name() and validate_topic_filter().
protocol::error utf8_error(std::string_view text) noexcept;
protocol::error topic_name_error(std::string_view topic) noexcept;
protocol::error topic_filter_error(std::string_view filter) noexcept;

// Largest UTF-8 string or binary field: a two-byte length prefix [MQTT-1.5.4], [MQTT-1.5.6].
inline constexpr std::size_t max_field_length = 65'535;

constexpr std::size_t variable_byte_integer_size(std::uint32_t value) noexcept {
  return value < 128 ? 1 : value < 16'384 ? 2 : value < 2'097'152 ? 3 : 4;
}

struct variable_byte_integer_result {
  enum class status { complete, need_more, malformed } state = status::need_more;
  std::uint32_t value = 0;
  std::size_t size = 0;  // bytes consumed when complete
};

// Decodes a Variable Byte Integer at the start of [at, end). At most four bytes, and only the minimal
// encoding [MQTT-1.5.5-1]: a last byte of 0 after a continuation byte would encode the same value in fewer bytes.
inline variable_byte_integer_result read_variable_byte_integer(const std::uint8_t* at,
                                                                const std::uint8_t* end) noexcept {
  using status = variable_byte_integer_result::status;
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (at + i == end) return {status::need_more, 0, 0};
    const std::uint8_t byte = at[i];
    value |= std::uint32_t{byte & 0x7Fu} << (7 * i);
    if ((byte & 0x80) == 0) {
      if (i > 0 && byte == 0) return {status::malformed, 0, 0};
      return {status::complete, value, i + 1};
    }
  }
  return {status::malformed, 0, 0};  // a fifth byte would be needed
}

// Reads fields front to back. The first failure sticks: later reads return empty values and leave the
// error unchanged, so a decoder reads a group of fields and checks once.
class wire_reader {
 public:
  explicit wire_reader(byte_view bytes) noexcept : at_{bytes.data()}, end_{bytes.data() + bytes.size()} {}

  bool ok() const noexcept { return !failed(error_); }
  protocol::error error() const noexcept { return error_; }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - at_); }
  bool at_end() const noexcept { return at_ == end_; }
  const std::uint8_t* position() const noexcept { return at_; }

  void fail(protocol::error e) noexcept {
    if (!failed(error_)) error_ = e;
    at_ = end_;
  }

  std::uint8_t byte() noexcept {
    if (!take(1)) return 0;
    return at_[-1];
  }
  std::uint16_t two_byte_integer() noexcept {
    if (!take(2)) return 0;
    return static_cast<std::uint16_t>(at_[-2] << 8 | at_[-1]);
  }
  std::uint32_t four_byte_integer() noexcept {
    if (!take(4)) return 0;
    return std::uint32_t{at_[-4]} << 24 | std::uint32_t{at_[-3]} << 16 | std::uint32_t{at_[-2]} << 8 | at_[-1];
  }
  std::uint32_t variable_byte_integer() noexcept {
    if (failed(error_)) return 0;
    const auto result = read_variable_byte_integer(at_, end_);
    using status = variable_byte_integer_result::status;
    if (result.state == status::need_more) {
      fail(error::truncated_field);
      return 0;
    }
    if (result.state == status::malformed) {
      fail(error::malformed_variable_byte_integer);
      return 0;
    }
    at_ += result.size;
    return result.value;
  }
  // Binary Data [MQTT-1.5.6]: two-byte length, then the bytes.
  byte_view binary_data() noexcept {
    const std::size_t length = two_byte_integer();
    return bytes(length);
  }
  // UTF-8 Encoded String [MQTT-1.5.4], validated.
  std::string_view utf8_string() noexcept {
    const byte_view raw = binary_data();
    const std::string_view text{reinterpret_cast<const char*>(raw.data()), raw.size()};
    if (failed(error_)) return {};
    fail_if(utf8_error(text));
    return text;
  }
  byte_view bytes(std::size_t count) noexcept {
    if (!take(count)) return {};
    return {at_ - count, count};
  }
  byte_view rest() noexcept { return bytes(remaining()); }

 private:
  void fail_if(protocol::error e) noexcept {
    if (failed(e)) fail(e);
  }
  bool take(std::size_t count) noexcept {
    if (failed(error_)) return false;
    if (remaining() < count) {
      fail(error::truncated_field);
      return false;
    }
    at_ += count;
    return true;
  }

  const std::uint8_t* at_;
  const std::uint8_t* end_;
  protocol::error error_ = no_error;
};

// The lengths of the property blocks of one packet (CONNECT has two), as measured before writing, so that
// the writer need not measure them again to put the Property Length first.
struct property_block_sizes {
  static constexpr std::size_t max_blocks = 2;
  std::uint32_t sizes[max_blocks] = {};
  std::size_t count = 0;
};

// Counts what a writer would write; records the first field that cannot be encoded.
class size_counter {
 public:
  static constexpr bool measuring = true;

  // Where to record the lengths of the property blocks met, in order (optional).
  explicit size_counter(property_block_sizes* blocks = nullptr) noexcept : blocks_{blocks} {}

  std::size_t size() const noexcept { return size_; }
  protocol::error error() const noexcept { return error_; }
  void record_property_block(std::uint32_t length) noexcept {
    if (blocks_ != nullptr && blocks_->count < property_block_sizes::max_blocks)
      blocks_->sizes[blocks_->count++] = length;
  }
  void fail(protocol::error e) noexcept {
    if (!failed(error_)) error_ = e;
  }

  void byte(std::uint8_t) noexcept { size_ += 1; }
  void two_byte_integer(std::uint16_t) noexcept { size_ += 2; }
  void four_byte_integer(std::uint32_t) noexcept { size_ += 4; }
  void variable_byte_integer(std::uint32_t value) noexcept {
    if (value > max_variable_byte_integer) fail(error::packet_too_large);
    size_ += variable_byte_integer_size(value);
  }
  void binary_data(byte_view data) noexcept { counted_field(data.size()); }
  void utf8_string(std::string_view text) noexcept { counted_field(text.size()); }
  void bytes(byte_view data) noexcept { size_ += data.size(); }
  // Adds what another counter measured, its error included.
  void add(const size_counter& other) noexcept {
    size_ += other.size_;
    if (failed(other.error_)) fail(other.error_);
  }

 private:
  void counted_field(std::size_t length) noexcept {
    if (length > max_field_length) fail(error::field_too_long);
    size_ += 2 + length;
  }

  std::size_t size_ = 0;
  protocol::error error_ = no_error;
  property_block_sizes* blocks_ = nullptr;
};

// Writes into storage that a size_counter run has already shown to be large enough: no checks here.
class byte_writer {
 public:
  static constexpr bool measuring = false;

  // `blocks` are the property block lengths a size_counter recorded for the same packet, or nullptr.
  explicit byte_writer(std::uint8_t* out, const property_block_sizes* blocks = nullptr) noexcept
      : at_{out}, blocks_{blocks} {}
  std::uint8_t* position() const noexcept { return at_; }
  void fail(protocol::error) noexcept {}
  // The length of the next property block, if it was measured beforehand.
  std::optional<std::uint32_t> next_property_block() noexcept {
    if (blocks_ == nullptr || next_block_ >= blocks_->count) return std::nullopt;
    return blocks_->sizes[next_block_++];
  }

  void byte(std::uint8_t value) noexcept { *at_++ = value; }
  void two_byte_integer(std::uint16_t value) noexcept {
    at_[0] = static_cast<std::uint8_t>(value >> 8);
    at_[1] = static_cast<std::uint8_t>(value);
    at_ += 2;
  }
  void four_byte_integer(std::uint32_t value) noexcept {
    at_[0] = static_cast<std::uint8_t>(value >> 24);
    at_[1] = static_cast<std::uint8_t>(value >> 16);
    at_[2] = static_cast<std::uint8_t>(value >> 8);
    at_[3] = static_cast<std::uint8_t>(value);
    at_ += 4;
  }
  void variable_byte_integer(std::uint32_t value) noexcept {
    do {
      std::uint8_t digit = value & 0x7F;
      value >>= 7;
      if (value != 0) digit |= 0x80;
      *at_++ = digit;
    } while (value != 0);
  }
  void binary_data(byte_view data) noexcept {
    two_byte_integer(static_cast<std::uint16_t>(data.size()));
    bytes(data);
  }
  void utf8_string(std::string_view text) noexcept {
    binary_data({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  }
  void bytes(byte_view data) noexcept {
    const std::size_t n = data.size();
    if (n <= 16)
      copy_short(data.data(), n);
    else
      std::memcpy(at_, data.data(), n);
    at_ += n;
  }

 private:
  // Most MQTT fields are short (names, property strings, small identifiers). A call to memcpy with a length
  // only known at run time costs more than the copy itself; two overlapping fixed-size copies do not.
  void copy_short(const std::uint8_t* from, std::size_t n) noexcept {
    if (n >= 8) {
      copy_fixed<8>(from, 0);
      copy_fixed<8>(from, n - 8);
    } else if (n >= 4) {
      copy_fixed<4>(from, 0);
      copy_fixed<4>(from, n - 4);
    } else if (n > 0) {
      at_[0] = from[0];
      at_[n / 2] = from[n / 2];
      at_[n - 1] = from[n - 1];
    }
  }
  template <std::size_t Size>
  void copy_fixed(const std::uint8_t* from, std::size_t offset) noexcept {
    std::uint8_t chunk[Size];
    std::memcpy(chunk, from + offset, Size);
    std::memcpy(at_ + offset, chunk, Size);
  }

  std::uint8_t* at_;
  const property_block_sizes* blocks_;
  std::size_t next_block_ = 0;
};

// Whether a topic contains '+' or '#', eight bytes at a time: this runs on every PUBLISH received.
// (string_view::find_first_of would call memchr once per character.)
inline bool has_wildcard(std::string_view topic) noexcept {
  constexpr auto repeated = [](std::uint8_t byte) { return 0x0101010101010101ull * byte; };
  // Non-zero exactly when some byte of `word` is zero.
  constexpr auto has_zero_byte = [=](std::uint64_t word) {
    return (word - repeated(0x01)) & ~word & repeated(0x80);
  };
  const char* at = topic.data();
  const char* const end = at + topic.size();
  for (; end - at >= 8; at += 8) {
    std::uint64_t word;
    std::memcpy(&word, at, sizeof word);
    if (has_zero_byte(word ^ repeated('+')) | has_zero_byte(word ^ repeated('#'))) return true;
  }
  if (end - at >= 4) {  // the last 4 to 7 bytes in two overlapping loads, as one word
    std::uint32_t low, high;
    std::memcpy(&low, at, 4);
    std::memcpy(&high, end - 4, 4);
    const std::uint64_t word = low | std::uint64_t{high} << 32;
    return (has_zero_byte(word ^ repeated('+')) | has_zero_byte(word ^ repeated('#'))) != 0;
  }
  for (; at != end; ++at)
    if (*at == '+' || *at == '#') return true;
  return false;
}

inline byte_view as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string_view as_text(byte_view bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace coromqtt::protocol::detail
