// The read side: the read buffer, framing and decoding, and the dispatch of each packet to its handler.
#include "session/session.hpp"
#include "session/session_internal.hpp"

#include <coromqtt/protocol/error.hpp>

#include <algorithm>

namespace coromqtt::detail {

namespace proto = coromqtt::protocol;

// ---------------------------------------------------------------------------------------------------------------
// Input

std::span<std::uint8_t> session::read_space() {
  // read_buffer_ holds the bytes read and not yet processed; the read goes into the capacity beyond them.
  const std::size_t held = read_buffer_.size();
  std::size_t wanted = held + 1;
  // A packet whose header is in: make room for it, but at most double what has arrived (or 256 KiB): a
  // header announcing 200 MB followed by silence must cost nothing, and a large packet that does arrive
  // still grows the buffer in a few steps.
  const auto frame = proto::read_frame(read_buffer_.bytes(), incoming_packet_limit());
  if (frame.status == proto::frame_status::need_more && frame.needed > wanted)
    wanted = std::min(frame.needed, held + std::max(held, streaming_read_capacity));
  if (read_buffer_.capacity() < initial_read_capacity) wanted = std::max(wanted, initial_read_capacity);
  // The previous read filled the buffer: the broker is streaming, read bigger chunks.
  if (held == read_buffer_.capacity() && read_buffer_.capacity() < streaming_read_capacity)
    wanted = std::max(wanted, read_buffer_.capacity() * 2);
  read_buffer_.reserve(wanted);  // keeps the held bytes
  return {read_buffer_.data() + held, read_buffer_.capacity() - held};
}

error_code session::on_read(std::size_t n, clock::time_point now) {
  read_buffer_.resize(read_buffer_.size() + n);  // the bytes were written into read_space()
  stats_.bytes_received.add(n);
  return process_input(now);
}

bool session::input_resumable() const noexcept {
  switch (input_wait_) {
    case input_wait::none:
      return false;
    case input_wait::receive_queue:
      return receive_queue_.size() < std::max<std::size_t>(options_.receive_queue_capacity, 1);
    case input_wait::stream: {
      const auto* s = const_cast<subscription_router&>(router_).find(blocked_stream_);
      return !s || !s->open || !s->full();  // a stream closed or gone takes nothing more
    }
    case input_wait::acknowledgements:
      return held_messages_ < std::max<std::uint16_t>(options_.receive_maximum, 1);
    case input_wait::write_buffer:
      return !output_full();
  }
  return false;
}

error_code session::resume_input(clock::time_point now) {
  input_wait_ = input_wait::none;
  return process_input(now);
}

error_code session::process_input(clock::time_point now) {
  std::size_t offset = 0;
  std::size_t completed = 0;
  error_code ec;
  while (offset < read_buffer_.size() && state_ != session_state::disconnected) {
    // Each packet may owe the broker an acknowledgement: once the bytes waiting for the writer reach their
    // bound, stop, so that a broker flooding PUBREL or QoS 1 PUBLISH without reading what we owe it meets TCP
    // backpressure instead of growing our memory.
    if (state_ == session_state::connected && output_full()) {
      input_wait_ = input_wait::write_buffer;
      break;
    }
    const auto rest = read_buffer_.bytes().subspan(offset);
    const auto frame = proto::read_frame(rest, incoming_packet_limit());
    if (frame.status == proto::frame_status::need_more) break;
    if (frame.status == proto::frame_status::error) {
      ec = violation(proto::reason_for(frame.error), frame.error);
      break;
    }
    proto::packet packet;
    if (auto decode_error =
            proto::decode_packet(frame.header, rest.first(frame.header.packet_size()), version_, packet)) {
      ec = violation(proto::reason_for(decode_error), decode_error);
      break;
    }
    bool consumed = true;
    ec = handle(packet, now, consumed);
    // A packet left for later (no room for it yet) is handled, and reported, again when input resumes.
    if (received_packet_observer_ && (consumed || ec))
      received_packet_observer_(rest.first(frame.header.packet_size()));
    if (ec) break;
    if (!consumed) {
      input_wait_ = delivery_wait_;
      break;
    }
    offset += frame.header.packet_size();
    ++completed;
  }
  // Only complete packets show that the broker is alive, as the standard counts them for keep alive
  // [MQTT-3.1.2-22]: a broker that trickles bytes without ever finishing a packet is judged like a silent
  // one.
  if (completed) keep_alive_.on_received(now);
  // Keep the unprocessed tail (a partial packet, or packets waiting for room) at the front.
  read_buffer_.consume(offset);
  if (read_buffer_.empty() && read_buffer_.capacity() > streaming_read_capacity)
    read_buffer_.shrink_to(streaming_read_capacity);
  progress(now);
  update_gauges();
  return ec;
}

error_code session::violation(reason_code reason, error_code ec, std::string_view what) {
  last_error_ = {ec, reason, std::string{what}, {}};
  last_error_.we_should_disconnect = true;
  return ec;
}

error_code session::handle(const proto::packet& packet, clock::time_point now, bool& consumed) {
  if (state_ == session_state::awaiting_connack) {
    if (const auto* connack = std::get_if<proto::connack>(&packet)) return handle_connack(*connack, now);
    if (const auto* d = std::get_if<proto::disconnect>(&packet)) return handle_disconnect(*d);
    if (const auto* a = std::get_if<proto::auth>(&packet)) return handle_auth(*a);
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "the broker sent a packet before CONNACK");
  }
  switch (proto::type_of(packet)) {
    case proto::packet_type::publish:
      return handle_publish(std::get<proto::publish>(packet), consumed);
    case proto::packet_type::puback: {
      const auto& p = std::get<proto::puback>(packet);
      return handle_puback(p.packet_id, p.reason, p.properties);
    }
    case proto::packet_type::pubrec: {
      const auto& p = std::get<proto::pubrec>(packet);
      return handle_pubrec(p.packet_id, p.reason, p.properties);
    }
    case proto::packet_type::pubrel:
      return handle_pubrel(std::get<proto::pubrel>(packet).packet_id);
    case proto::packet_type::pubcomp: {
      const auto& p = std::get<proto::pubcomp>(packet);
      return handle_pubcomp(p.packet_id, p.reason, p.properties);
    }
    case proto::packet_type::suback:
      return handle_suback(std::get<proto::suback>(packet), now);
    case proto::packet_type::unsuback:
      return handle_unsuback(std::get<proto::unsuback>(packet));
    case proto::packet_type::pingresp:
      return {};
    case proto::packet_type::disconnect:
      return handle_disconnect(std::get<proto::disconnect>(packet));
    case proto::packet_type::auth:
      return handle_auth(std::get<proto::auth>(packet));
    case proto::packet_type::connack:
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "a second CONNACK");
    default:
      // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ travel only from client to server.
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "a packet a broker must not send");
  }
}

}  // namespace coromqtt::detail
