#include "client/logging.hpp"

#include <coromqtt/protocol/codec.hpp>
#include <coromqtt/protocol/reason_code.hpp>

#include <boost/asio/error.hpp>

namespace coromqtt {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "?";
}

namespace detail {
namespace {

namespace proto = coromqtt::protocol;

std::uint16_t two_bytes_at(proto::byte_view body, std::size_t offset) {
  return static_cast<std::uint16_t>((body[offset] << 8) | body[offset + 1]);
}

void append_reason(std::string& text, std::uint8_t code) {
  text += ' ';
  text += proto::to_string(static_cast<proto::reason_code>(code));
}

}  // namespace

std::string describe_packet(proto::byte_view packet, proto::protocol_version version) {
  const auto frame = proto::read_frame(packet);
  if (frame.status != proto::frame_status::complete) return std::to_string(packet.size()) + " bytes of a packet";
  const auto type = frame.header.type();
  const auto body = packet.subspan(frame.header.header_size, frame.header.remaining_length);
  const bool v5 = version == proto::protocol_version::v5;
  std::string text{proto::to_string(type)};
  switch (type) {
    case proto::packet_type::publish: {
      const auto level = (frame.header.flags() >> 1) & 0x03;
      text += " qos " + std::to_string(level);
      if (frame.header.flags() & 0x08) text += " dup";
      if (frame.header.flags() & 0x01) text += " retain";
      // The packet identifier follows the topic name, which is left out of the line.
      if (level != 0 && body.size() >= 2) {
        const std::size_t id_offset = 2 + std::size_t{two_bytes_at(body, 0)};
        if (body.size() >= id_offset + 2) text += " id " + std::to_string(two_bytes_at(body, id_offset));
      }
      break;
    }
    case proto::packet_type::puback:
    case proto::packet_type::pubrec:
    case proto::packet_type::pubrel:
    case proto::packet_type::pubcomp:
    case proto::packet_type::subscribe:
    case proto::packet_type::suback:
    case proto::packet_type::unsubscribe:
    case proto::packet_type::unsuback:
      if (body.size() >= 2) text += " id " + std::to_string(two_bytes_at(body, 0));
      // MQTT 5 acknowledgements of a publish carry a reason code; absent, it is Success [MQTT-3.4.2.1].
      if (v5 && body.size() >= 3 && type >= proto::packet_type::puback && type <= proto::packet_type::pubcomp)
        append_reason(text, body[2]);
      break;
    case proto::packet_type::connack:
      if (body.size() >= 2) {
        if (body[0] & 0x01) text += " session present";
        if (v5)
          append_reason(text, body[1]);
        else
          text += " return code " + std::to_string(body[1]);
      }
      break;
    case proto::packet_type::disconnect:
    case proto::packet_type::auth:
      if (v5 && !body.empty()) append_reason(text, body[0]);
      break;
    default:  // CONNECT (its credentials stay out of logs), PINGREQ, PINGRESP
      break;
  }
  return text + ", " + std::to_string(packet.size()) + " bytes";
}

namespace {

// "connection refused (Not authorized: ...) -- tls broker:8883 (...): ...": everything the event knows.
std::string describe_outcome(const event& ev) {
  std::string text = ev.error ? ev.error.message() : std::string{"closed normally"};
  if (ev.reason != reason_code::success) {
    text += " (";
    text += proto::to_string(ev.reason);
    if (!ev.reason_string.empty()) text += ": " + ev.reason_string;
    text += ")";
  }
  if (!ev.diagnostic.empty()) text += " -- " + ev.diagnostic;
  return text;
}

}  // namespace

void log_attempt(const log_options& options, const event& connecting) {
  write_log(options, log_level::info, [&] {
    return "connecting to " + connecting.broker + " (attempt " + std::to_string(connecting.attempt) + ")";
  });
}

void log_transport_up(const log_options& options, const std::string& peer) {
  write_log(options, log_level::debug, [&] { return "transport up: " + peer + ", sending CONNECT"; });
}

void log_connected(const log_options& options, const std::string& peer, const connection_info& info) {
  write_log(options, log_level::info, [&] {
    return "connected to " + peer + ": CONNACK " + std::string{proto::to_string(info.reason)} +
           (info.session_present ? ", session present" : ", new session");
  });
  write_log(options, log_level::debug, [&] {
    return "broker limits: receive maximum " + std::to_string(info.receive_maximum) + ", maximum QoS " +
           std::to_string(static_cast<int>(info.maximum_qos)) + ", maximum packet size " +
           std::to_string(info.maximum_packet_size) + ", topic alias maximum " +
           std::to_string(info.topic_alias_maximum) + ", keep alive " + std::to_string(info.keep_alive.count()) +
           " s";
  });
}

void log_outcome(const log_options& options, const event& outcome, bool broker_broke_protocol) {
  const bool was_connected = outcome.kind == event_kind::disconnected;
  // A cancellation is the user's doing (stop(), disconnect()): worth knowing, not worth a warning.
  const auto level = broker_broke_protocol                                                 ? log_level::error
                     : outcome.error && outcome.error != boost::asio::error::operation_aborted ? log_level::warning
                                                                                           : log_level::info;
  write_log(options, level, [&] {
    return (was_connected ? "disconnected from " : "connecting to ") + outcome.broker +
           (was_connected ? ": " : " failed: ") + describe_outcome(outcome);
  });
}

void log_reconnect_scheduled(const log_options& options, const event& scheduled) {
  write_log(options, log_level::info, [&] {
    return "reconnecting to " + scheduled.broker + " in " + std::to_string(scheduled.delay.count()) +
           " ms (attempt " + std::to_string(scheduled.attempt) + ")";
  });
}

void log_stopped(const log_options& options, const event& stopped, bool policy_gave_up) {
  if (!policy_gave_up) {
    write_log(options, log_level::info, [] { return std::string{"stopped: disconnect requested"}; });
    return;
  }
  write_log(options, log_level::error, [&] {
    return "not reconnecting after " + std::to_string(stopped.attempt) +
           " failed attempt(s), the reconnect policy stopped: " + describe_outcome(stopped);
  });
}

void log_each_packet(const log_options& options, std::string_view verb, proto::byte_view bytes,
                     proto::protocol_version version) {
  while (!bytes.empty()) {
    const auto frame = proto::read_frame(bytes);
    const std::size_t size =
        frame.status == proto::frame_status::complete ? frame.header.packet_size() : bytes.size();
    write_log(options, log_level::trace,
              [&] { return std::string{verb} + " " + describe_packet(bytes.first(size), version); });
    bytes = bytes.subspan(size);
  }
}

}  // namespace detail
}  // namespace coromqtt
