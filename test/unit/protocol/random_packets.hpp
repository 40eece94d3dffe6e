// Seeded generator of valid packets of every type for both versions: round-trip tests, the fuzz seed corpus
// and the cross-check with mqtt-packet use it. Strings and lists live in the generator until clear().
#pragma once

#include <coromqtt/protocol.hpp>

#include <cstdint>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace coromqtt::protocol::test {

class packet_generator {
 public:
  explicit packet_generator(std::uint64_t seed) : rng_{seed} {}

  // Forget the storage behind the packets generated so far.
  void clear() {
    strings_.clear();
    blobs_.clear();
    user_lists_.clear();
    id_lists_.clear();
    subscription_lists_.clear();
    filter_lists_.clear();
    reason_lists_.clear();
  }

  packet make(packet_type type, protocol_version version) {
    const bool v5 = version == protocol_version::v5;
    switch (type) {
      case packet_type::connect: return make_connect(version);
      case packet_type::connack: {
        connack p;
        p.session_present = coin();
        if (v5) {
          p.reason = pick({reason_code::success, reason_code::unspecified_error, reason_code::banned,
                           reason_code::server_moved, reason_code::quota_exceeded});
          fill(p.properties);
        } else {
          p.reason = pick({reason_code::success, reason_code::unsupported_protocol_version,
                           reason_code::client_identifier_not_valid, reason_code::server_unavailable,
                           reason_code::bad_user_name_or_password, reason_code::not_authorized});
        }
        return p;
      }
      case packet_type::publish: return make_publish(version);
      case packet_type::puback:
        return make_ack<puback>(version, {reason_code::success, reason_code::no_matching_subscribers,
                                          reason_code::unspecified_error, reason_code::payload_format_invalid});
      case packet_type::pubrec:
        return make_ack<pubrec>(version, {reason_code::success, reason_code::quota_exceeded,
                                          reason_code::packet_identifier_in_use});
      case packet_type::pubrel:
        return make_ack<pubrel>(version, {reason_code::success, reason_code::packet_identifier_not_found});
      case packet_type::pubcomp:
        return make_ack<pubcomp>(version, {reason_code::success, reason_code::packet_identifier_not_found});
      case packet_type::subscribe: {
        subscribe p;
        p.packet_id = packet_id();
        auto& list = subscription_lists_.emplace_back();
        const std::size_t count = 1 + below(4);
        for (std::size_t i = 0; i < count; ++i) {
          subscription s;
          s.filter = topic_filter();
          s.options.max_qos = static_cast<qos>(below(3));
          if (v5) {
            s.options.no_local = !s.filter.starts_with("$share/") && coin();
            s.options.retain_as_published = coin();
            s.options.retain_handling = static_cast<retain_handling>(below(3));
          }
          list.push_back(s);
        }
        p.subscriptions = list;
        if (v5) {
          if (coin()) p.properties.subscription_identifier = subscription_identifier();
          p.properties.user_properties = user_properties();
        }
        return p;
      }
      case packet_type::suback: {
        suback p;
        p.packet_id = packet_id();
        auto& list = reason_lists_.emplace_back();
        const std::size_t count = 1 + below(5);
        for (std::size_t i = 0; i < count; ++i)
          list.push_back(v5 ? pick({reason_code::granted_qos_1, reason_code::granted_qos_2, reason_code::success,
                                    reason_code::not_authorized, reason_code::topic_filter_invalid,
                                    reason_code::shared_subscriptions_not_supported})
                            : pick({reason_code::success, reason_code::granted_qos_1, reason_code::granted_qos_2,
                                    reason_code::unspecified_error}));
        p.reasons = list;
        if (v5) fill(p.properties);
        return p;
      }
      case packet_type::unsubscribe: {
        unsubscribe p;
        p.packet_id = packet_id();
        auto& list = filter_lists_.emplace_back();
        const std::size_t count = 1 + below(4);
        for (std::size_t i = 0; i < count; ++i) list.push_back(topic_filter());
        p.filters = list;
        if (v5) p.properties.user_properties = user_properties();
        return p;
      }
      case packet_type::unsuback: {
        unsuback p;
        p.packet_id = packet_id();
        if (v5) {
          auto& list = reason_lists_.emplace_back();
          const std::size_t count = 1 + below(4);
          for (std::size_t i = 0; i < count; ++i)
            list.push_back(pick({reason_code::success, reason_code::no_subscription_existed,
                                 reason_code::not_authorized, reason_code::packet_identifier_in_use}));
          p.reasons = list;
          fill(p.properties);
        }
        return p;
      }
      case packet_type::pingreq: return pingreq{};
      case packet_type::pingresp: return pingresp{};
      case packet_type::disconnect: {
        disconnect p;
        if (v5) {
          if (coin())
            p.reason = pick({reason_code::disconnect_with_will_message, reason_code::server_shutting_down,
                             reason_code::keep_alive_timeout, reason_code::session_taken_over,
                             reason_code::use_another_server});
          if (coin()) p.properties.session_expiry_interval = number<std::uint32_t>();
          if (coin()) p.properties.reason_string = text(0, 20);
          p.properties.user_properties = user_properties();
          if (coin()) p.properties.server_reference = text(1, 20);
        }
        return p;
      }
      case packet_type::auth: {
        auth p;
        if (coin()) {
          p.reason = pick({reason_code::success, reason_code::continue_authentication, reason_code::re_authenticate});
          if (coin()) p.properties.authentication_method = text(1, 12);
          if (coin()) p.properties.authentication_data = blob(0, 40);
          if (coin()) p.properties.reason_string = text(0, 20);
          p.properties.user_properties = user_properties();
        }
        return p;
      }
    }
    return pingreq{};
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool coin() { return below(2) == 0; }
  template <class T>
  T number() {
    return std::uniform_int_distribution<std::uint64_t>(0, std::numeric_limits<T>::max())(rng_) & T(~T{0});
  }
  template <class T>
  T pick(std::initializer_list<T> choices) {
    return *(choices.begin() + below(choices.size()));
  }
  std::uint16_t packet_id() { return static_cast<std::uint16_t>(1 + below(65'535)); }
  std::uint32_t subscription_identifier() {
    // Mostly small, sometimes at the edges of 1-4 byte encodings.
    return pick<std::uint32_t>({1, 127, 128, 16'383, 16'384, 2'097'151, 2'097'152, 268'435'455,
                                static_cast<std::uint32_t>(1 + below(1000))});
  }

  // Characters of 1 to 4 bytes, U+FEFF included [MQTT-1.5.4-3]; never U+0000, '+', '#' or '/'.
  void append_character(std::string& out) {
    static const char* const wide[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBB\xBF"};
    static constexpr std::string_view ascii = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.$ ";
    if (below(8) == 0)
      out += wide[below(4)];
    else
      out += ascii[below(ascii.size())];
  }
  std::string_view text(std::size_t min_chars, std::size_t max_chars) {
    std::string& s = strings_.emplace_back();
    const std::size_t count = min_chars + below(max_chars - min_chars + 1);
    for (std::size_t i = 0; i < count; ++i) append_character(s);
    return s;
  }
  byte_view blob(std::size_t min, std::size_t max) {
    auto& b = blobs_.emplace_back(min + below(max - min + 1));
    for (auto& byte : b) byte = static_cast<std::uint8_t>(below(256));
    return b;
  }
  byte_view payload() {
    // Lengths around the Remaining Length boundaries are reached by the large ones.
    const std::size_t max = pick<std::size_t>({0, 16, 200, 20'000});
    return blob(0, max);
  }
  std::string_view topic_name() {
    std::string& s = strings_.emplace_back();
    const std::size_t levels = 1 + below(4);
    for (std::size_t i = 0; i < levels; ++i) {
      if (i > 0) s += '/';
      const std::size_t length = below(6);
      for (std::size_t j = 0; j < length; ++j) append_character(s);
    }
    if (s.empty()) s = "t";
    return s;
  }
  std::string_view topic_filter() {
    std::string& s = strings_.emplace_back();
    if (below(6) == 0) s = "$share/g" + std::to_string(below(10)) + "/";
    const std::size_t levels = 1 + below(4);
    for (std::size_t i = 0; i < levels; ++i) {
      if (i > 0) s += '/';
      const std::size_t kind = below(6);
      if (kind == 0) {
        s += '+';
      } else if (kind == 1 && i + 1 == levels) {
        s += '#';
      } else {
        const std::size_t length = 1 + below(5);
        for (std::size_t j = 0; j < length; ++j) append_character(s);
      }
    }
    return s;
  }
  user_property_list user_properties() {
    auto& list = user_lists_.emplace_back();
    const std::size_t count = below(3) == 0 ? below(4) : 0;
    for (std::size_t i = 0; i < count; ++i) list.push_back({text(0, 8), text(0, 12)});
    return list;
  }

  void fill(ack_properties& p) {
    if (coin()) p.reason_string = text(0, 30);
    p.user_properties = user_properties();
  }
  void fill(connack_properties& p) {
    if (coin()) p.session_expiry_interval = number<std::uint32_t>();
    if (coin()) p.receive_maximum = static_cast<std::uint16_t>(1 + below(65'535));
    if (coin()) p.maximum_qos = static_cast<std::uint8_t>(below(2));
    if (coin()) p.retain_available = coin();
    if (coin()) p.maximum_packet_size = static_cast<std::uint32_t>(1 + below(1'000'000));
    if (coin()) p.assigned_client_identifier = text(1, 23);
    if (coin()) p.topic_alias_maximum = number<std::uint16_t>();
    if (coin()) p.reason_string = text(0, 30);
    p.user_properties = user_properties();
    if (coin()) p.wildcard_subscription_available = coin();
    if (coin()) p.subscription_identifier_available = coin();
    if (coin()) p.shared_subscription_available = coin();
    if (coin()) p.server_keep_alive = number<std::uint16_t>();
    if (coin()) p.response_information = text(0, 20);
    if (coin()) p.server_reference = text(0, 20);
    if (coin()) p.authentication_method = text(1, 10);
    if (coin()) p.authentication_data = blob(0, 30);
  }
  template <class Properties>
  void fill_message(Properties& p) {  // the properties PUBLISH and the will share
    if (coin()) p.payload_format_indicator = static_cast<std::uint8_t>(below(2));
    if (coin()) p.message_expiry_interval = number<std::uint32_t>();
    if (coin()) p.content_type = text(0, 15);
    if (coin()) p.response_topic = topic_name();
    if (coin()) p.correlation_data = blob(0, 16);
    p.user_properties = user_properties();
  }

  connect make_connect(protocol_version version) {
    const bool v5 = version == protocol_version::v5;
    connect p;
    p.version = version;
    p.clean_start = coin();
    p.keep_alive = number<std::uint16_t>();
    p.client_id = text(0, 23);
    // A 3.1.1 client with a zero-byte client identifier must ask for a clean session [MQTT-3.1.3-7].
    if (!v5 && p.client_id.empty()) p.clean_start = true;
    if (coin()) {
      will& w = p.will.emplace();
      w.topic = topic_name();
      w.payload = blob(0, 50);
      w.qos = static_cast<qos>(below(3));
      w.retain = coin();
      if (v5) {
        if (coin()) w.properties.will_delay_interval = number<std::uint32_t>();
        fill_message(w.properties);
      }
    }
    if (coin()) p.username = text(0, 12);
    if (coin() && (v5 || p.username)) p.password = blob(0, 20);
    if (v5) {
      connect_properties& c = p.properties;
      if (coin()) c.session_expiry_interval = number<std::uint32_t>();
      if (coin()) c.receive_maximum = static_cast<std::uint16_t>(1 + below(65'535));
      if (coin()) c.maximum_packet_size = static_cast<std::uint32_t>(1 + below(268'435'460));
      if (coin()) c.topic_alias_maximum = number<std::uint16_t>();
      if (coin()) c.request_response_information = coin();
      if (coin()) c.request_problem_information = coin();
      c.user_properties = user_properties();
      if (coin()) c.authentication_method = text(1, 10);
      if (coin()) c.authentication_data = blob(0, 30);
    }
    return p;
  }

  publish make_publish(protocol_version version) {
    const bool v5 = version == protocol_version::v5;
    publish p;
    p.qos = static_cast<qos>(below(3));
    p.retain = coin();
    p.dup = p.qos != qos::at_most_once && coin();
    if (p.qos != qos::at_most_once) p.packet_id = packet_id();
    p.payload = payload();
    p.topic = topic_name();
    if (v5) {
      fill_message(p.properties);
      if (coin()) {
        p.properties.topic_alias = static_cast<std::uint16_t>(1 + below(65'535));
        if (coin()) p.topic = {};
      }
      if (below(4) == 0) {
        auto& ids = id_lists_.emplace_back();
        const std::size_t count = 1 + below(3);
        for (std::size_t i = 0; i < count; ++i) ids.push_back(subscription_identifier());
        p.properties.subscription_identifiers = ids;
      }
    }
    return p;
  }

  template <class Ack>
  Ack make_ack(protocol_version version, std::initializer_list<reason_code> reasons) {
    Ack p;
    p.packet_id = packet_id();
    if (version == protocol_version::v5) {
      if (coin()) p.reason = pick(reasons);
      if (coin()) fill(p.properties);
    }
    return p;
  }

  std::mt19937_64 rng_;
  std::deque<std::string> strings_;
  std::deque<std::vector<std::uint8_t>> blobs_;
  std::deque<std::vector<user_property>> user_lists_;
  std::deque<std::vector<std::uint32_t>> id_lists_;
  std::deque<std::vector<subscription>> subscription_lists_;
  std::deque<std::vector<std::string_view>> filter_lists_;
  std::deque<std::vector<reason_code>> reason_lists_;
};

inline constexpr packet_type all_packet_types[] = {
    packet_type::connect,  packet_type::connack,  packet_type::publish,     packet_type::puback,
    packet_type::pubrec,   packet_type::pubrel,   packet_type::pubcomp,     packet_type::subscribe,
    packet_type::suback,   packet_type::unsubscribe, packet_type::unsuback, packet_type::pingreq,
    packet_type::pingresp, packet_type::disconnect, packet_type::auth,
};

}  // namespace coromqtt::protocol::test
