#include "store/record_codec.hpp"

#include <array>
#include <cstring>

namespace coromqtt::detail {
namespace {

// CRC-32C (Castagnoli), slicing by 8: about 1 GB/s in software, so checksums never dominate a write.
struct crc_tables {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  constexpr crc_tables() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
      for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};
constexpr crc_tables tables{};

class writer {
 public:
  explicit writer(std::vector<std::uint8_t>& out) : out_{out} {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    const auto at = out_.size();
    out_.resize(at + s.size());
    if (!s.empty()) std::memcpy(out_.data() + at, s.data(), s.size());
  }
  void opt_str(const std::optional<std::string>& s) {
    u8(s ? 1 : 0);
    if (s) str(*s);
  }

 private:
  void put(std::uint64_t v, int n) {
    const auto at = out_.size();
    out_.resize(at + static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out_[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  std::vector<std::uint8_t>& out_;
};

class reader {
 public:
  explicit reader(std::span<const std::uint8_t> in) : in_{in} {}
  bool ok() const noexcept { return ok_; }
  bool done() const noexcept { return ok_ && at_ == in_.size(); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  std::string str() {
    const auto n = u32();
    if (!ok_ || in_.size() - at_ < n) {
      ok_ = false;
      return {};
    }
    std::string s{reinterpret_cast<const char*>(in_.data() + at_), n};
    at_ += n;
    return s;
  }
  std::optional<std::string> opt_str() {
    if (u8() == 0) return std::nullopt;
    return str();
  }
  // A count of items each at least `item_size` bytes long: more than the bytes left is damage.
  std::uint32_t count(std::size_t item_size) {
    const auto n = u32();
    if (ok_ && static_cast<std::uint64_t>(n) * item_size > in_.size() - at_) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  std::uint64_t get(int n) {
    if (!ok_ || in_.size() - at_ < static_cast<std::size_t>(n)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(in_[at_ + static_cast<std::size_t>(i)]) << (8 * i);
    at_ += static_cast<std::size_t>(n);
    return v;
  }
  std::span<const std::uint8_t> in_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

void put_message(writer& w, const message& m) {
  w.u8(static_cast<std::uint8_t>(m.qos));
  w.u8(m.retain ? 1 : 0);
  w.str(m.topic);
  w.str(m.payload);
  const auto& p = m.properties;
  w.u8(p.payload_format_indicator ? 1 : 0);
  if (p.payload_format_indicator) w.u8(*p.payload_format_indicator);
  w.u8(p.message_expiry_interval ? 1 : 0);
  if (p.message_expiry_interval) w.u32(*p.message_expiry_interval);
  w.opt_str(p.content_type);
  w.opt_str(p.response_topic);
  w.opt_str(p.correlation_data);
  w.u32(static_cast<std::uint32_t>(p.user_properties.size()));
  for (const auto& [name, value] : p.user_properties) {
    w.str(name);
    w.str(value);
  }
}

bool get_message(reader& r, message& m) {
  const auto q = r.u8();
  if (q > 2) return false;
  m.qos = static_cast<coromqtt::qos>(q);
  m.retain = r.u8() != 0;
  m.topic = r.str();
  m.payload = r.str();
  auto& p = m.properties;
  if (r.u8()) p.payload_format_indicator = r.u8();
  if (r.u8()) p.message_expiry_interval = r.u32();
  p.content_type = r.opt_str();
  p.response_topic = r.opt_str();
  p.correlation_data = r.opt_str();
  const auto n = r.count(8);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    auto name = r.str();
    auto value = r.str();
    p.user_properties.emplace_back(std::move(name), std::move(value));
  }
  return r.ok();
}

void put_subscriptions(writer& w, const std::vector<stored_subscription>& subs) {
  w.u32(static_cast<std::uint32_t>(subs.size()));
  for (const auto& s : subs) {
    w.str(s.subscription.filter);
    const auto& o = s.subscription.options;
    w.u8(static_cast<std::uint8_t>(o.max_qos));
    w.u8(o.no_local ? 1 : 0);
    w.u8(o.retain_as_published ? 1 : 0);
    w.u8(static_cast<std::uint8_t>(o.retain_handling));
    w.u8(s.subscription_identifier ? 1 : 0);
    w.u32(s.subscription_identifier.value_or(0));
  }
}

bool get_subscriptions(reader& r, std::vector<stored_subscription>& subs) {
  const auto n = r.count(13);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    stored_subscription s;
    s.subscription.filter = r.str();
    auto& o = s.subscription.options;
    const auto q = r.u8();
    o.no_local = r.u8() != 0;
    o.retain_as_published = r.u8() != 0;
    const auto rh = r.u8();
    if (q > 2 || rh > 2) return false;
    o.max_qos = static_cast<coromqtt::qos>(q);
    o.retain_handling = static_cast<coromqtt::retain_handling>(rh);
    const bool has_id = r.u8() != 0;
    const auto id = r.u32();
    if (has_id) s.subscription_identifier = id;
    subs.push_back(std::move(s));
  }
  return r.ok();
}

void frame_up(std::vector<std::uint8_t>& out, std::size_t start) {
  // `start` is where the header goes; the type byte and payload follow it.
  const auto payload = out.size() - start - record_header_size;
  const auto crc = crc32c({out.data() + start + 8, payload + 1});
  for (int i = 0; i < 4; ++i) out[start + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(payload >> (8 * i));
  for (int i = 0; i < 4; ++i) out[start + 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
}

}  // namespace

std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc) noexcept {
  crc = ~crc;
  const auto* p = bytes.data();
  std::size_t n = bytes.size();
  const auto& t = tables.t;
  while (n >= 8) {
    const std::uint32_t lo = crc ^ (static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                                    static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][p[4]] ^
          t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
  return ~crc;
}

void encode_record(const store_record& r, std::vector<std::uint8_t>& out) {
  const auto start = out.size();
  out.resize(start + record_header_size - 1);
  writer w{out};
  w.u8(static_cast<std::uint8_t>(r.what));
  using type = store_record::type;
  switch (r.what) {
    case type::session: w.str(r.client_id); break;
    case type::session_cleared: break;
    case type::message_added:
      w.u64(r.seq);
      w.u64(r.bytes);
      put_message(w, r.message);
      break;
    case type::message_sent:
      w.u64(r.seq);
      w.u16(r.packet_id);
      break;
    case type::message_released: w.u64(r.seq); break;
    case type::message_done:
      w.u64(r.seq);
      w.u64(r.bytes);
      break;
    case type::incoming_received:
    case type::incoming_released: w.u16(r.packet_id); break;
    case type::subscriptions: put_subscriptions(w, r.subscriptions); break;
  }
  frame_up(out, start);
}

void encode_checkpoint(const store_state::image& i, std::vector<std::uint8_t>& out) {
  const auto start = out.size();
  out.resize(start + record_header_size - 1);
  writer w{out};
  w.u8(checkpoint_type);
  w.u8(i.session_established ? 1 : 0);
  w.str(i.client_id);
  put_subscriptions(w, i.subscriptions);
  w.u32(static_cast<std::uint32_t>(i.incoming.size()));
  for (auto id : i.incoming) w.u16(id);
  w.u32(static_cast<std::uint32_t>(i.flights.size()));
  for (const auto& f : i.flights) {
    w.u64(f.seq);
    w.u16(f.packet_id);
    w.u8(static_cast<std::uint8_t>(f.phase));
  }
  w.u32(static_cast<std::uint32_t>(i.live.size()));
  for (const auto& r : i.live) {
    w.u64(r.first);
    w.u64(r.last);
  }
  w.u64(i.last_seq);
  w.u64(i.messages);
  w.u64(i.bytes);
  frame_up(out, start);
}

frame read_record_frame(std::span<const std::uint8_t> bytes) noexcept {
  frame f;
  if (bytes.size() < record_header_size) return f;
  std::uint32_t length = 0;
  std::uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) length |= static_cast<std::uint32_t>(bytes[static_cast<std::size_t>(i)]) << (8 * i);
  for (int i = 0; i < 4; ++i) crc |= static_cast<std::uint32_t>(bytes[4 + static_cast<std::size_t>(i)]) << (8 * i);
  if (length > max_record_payload) {
    f.check = frame_check::damaged;
    return f;
  }
  f.size = record_header_size + length;
  if (bytes.size() < f.size) return f;
  if (crc32c(bytes.subspan(8, length + 1)) != crc) {
    f.check = frame_check::damaged;
    return f;
  }
  f.check = frame_check::complete;
  f.type = bytes[8];
  f.payload = bytes.subspan(record_header_size, length);
  return f;
}

bool decode_record(std::uint8_t t, std::span<const std::uint8_t> payload, store_record& out) {
  if (t > static_cast<std::uint8_t>(store_record::type::subscriptions)) return false;
  out = {};
  out.what = static_cast<store_record::type>(t);
  reader r{payload};
  using type = store_record::type;
  switch (out.what) {
    case type::session: out.client_id = r.str(); break;
    case type::session_cleared: break;
    case type::message_added:
      out.seq = r.u64();
      out.bytes = static_cast<std::size_t>(r.u64());
      if (!get_message(r, out.message)) return false;
      break;
    case type::message_sent:
      out.seq = r.u64();
      out.packet_id = r.u16();
      break;
    case type::message_released: out.seq = r.u64(); break;
    case type::message_done:
      out.seq = r.u64();
      out.bytes = static_cast<std::size_t>(r.u64());
      break;
    case type::incoming_received:
    case type::incoming_released: out.packet_id = r.u16(); break;
    case type::subscriptions:
      if (!get_subscriptions(r, out.subscriptions)) return false;
      break;
  }
  return r.done();
}

bool decode_checkpoint(std::span<const std::uint8_t> payload, store_state::image& out) {
  reader r{payload};
  out = {};
  out.session_established = r.u8() != 0;
  out.client_id = r.str();
  if (!get_subscriptions(r, out.subscriptions)) return false;
  for (auto n = r.count(2); n > 0; --n) out.incoming.push_back(r.u16());
  for (auto n = r.count(11); n > 0; --n) {
    stored_flight f;
    f.seq = r.u64();
    f.packet_id = r.u16();
    const auto phase = r.u8();
    if (phase > 1) return false;
    f.phase = static_cast<stored_phase>(phase);
    out.flights.push_back(f);
  }
  for (auto n = r.count(16); n > 0; --n) {
    live_ranges::range range;
    range.first = r.u64();
    range.last = r.u64();
    out.live.push_back(range);
  }
  out.last_seq = r.u64();
  out.messages = r.u64();
  out.bytes = r.u64();
  return r.done();
}

bool peek_added_seq(std::span<const std::uint8_t> payload, std::uint64_t& seq) noexcept {
  if (payload.size() < 8) return false;
  seq = 0;
  for (std::size_t i = 0; i < 8; ++i) seq |= static_cast<std::uint64_t>(payload[i]) << (8 * i);
  return true;
}

}  // namespace coromqtt::detail
