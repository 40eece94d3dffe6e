#include "session/session.hpp"

#include <coromqtt/protocol/codec.hpp>
#include <coromqtt/protocol/error.hpp>
#include <coromqtt/protocol/topic.hpp>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace coromqtt::detail {
namespace {

namespace proto = coromqtt::protocol;
namespace asio = boost::asio;

// Enough for what an idle connection reads (CONNACK, PINGRESP, acknowledgements); a read that fills the buffer
// doubles it, so a busy connection grows it within a few reads. 1 KiB was a sixth of an idle connection's heap.
constexpr std::size_t initial_read_capacity = 256;
// A read that fills the whole free space doubles the buffer, up to this; larger packets grow it to their size.
constexpr std::size_t streaming_read_capacity = 256 * 1024;

proto::byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string to_string(proto::byte_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Views of user properties for the encoder, built in a reused scratch vector.
proto::user_property_list view_of(const user_properties& props, std::vector<proto::user_property>& scratch) {
  if (props.empty()) return {};
  const std::size_t first = scratch.size();
  for (const auto& [name, value] : props) scratch.push_back({name, value});
  return std::span<const proto::user_property>{scratch.data() + first, props.size()};
}

user_properties copy_of(const proto::user_property_list& list) {
  user_properties out;
  out.reserve(list.size());
  for (auto p : list) out.emplace_back(std::string{p.name}, std::string{p.value});
  return out;
}

template <class Properties>
void copy_message_properties(const Properties& from, message_properties& to) {
  to.payload_format_indicator = from.payload_format_indicator;
  to.message_expiry_interval = from.message_expiry_interval;
  if (from.content_type) to.content_type.emplace(*from.content_type);
  if (from.response_topic) to.response_topic.emplace(*from.response_topic);
  if (from.correlation_data) to.correlation_data.emplace(to_string(*from.correlation_data));
  to.user_properties = copy_of(from.user_properties);
}

template <class Properties>
void view_message_properties(const message_properties& from, Properties& to,
                             std::vector<proto::user_property>& scratch) {
  to.payload_format_indicator = from.payload_format_indicator;
  to.message_expiry_interval = from.message_expiry_interval;
  if (from.content_type) to.content_type = *from.content_type;
  if (from.response_topic) to.response_topic = *from.response_topic;
  if (from.correlation_data) to.correlation_data = as_bytes(*from.correlation_data);
  to.user_properties = view_of(from.user_properties, scratch);
}

template <class Ack>
Ack ack(std::uint16_t packet_id) noexcept {
  Ack a;
  a.packet_id = packet_id;
  return a;
}

bool is_publish_stage(awaiting a) noexcept {
  return a == awaiting::puback || a == awaiting::pubrec || a == awaiting::pubcomp;
}

}  // namespace

session::session(const client_options& options, statistics_counters& stats)
    : options_{options},
      stats_{stats},
      version_{options.version},
      client_id_{options.client_id},
      clean_start_next_{options.clean_start} {
  if (options.rate_limit) {
    const auto& r = *options.rate_limit;
    if (r.messages_per_second > 0)
      message_rate_ = token_bucket{r.messages_per_second, r.burst_messages > 0 ? r.burst_messages : r.messages_per_second};
    if (r.bytes_per_second > 0)
      byte_rate_ = token_bucket{r.bytes_per_second, r.burst_bytes > 0 ? r.burst_bytes : r.bytes_per_second};
  }
}

session::~session() = default;

// ---------------------------------------------------------------------------------------------------------------
// Connection lifecycle

void session::begin_connection(const credentials& creds, clock::time_point now) {
  pending_.clear();
  writing_.clear();
  read_buffer_.clear();
  input_blocked_ = false;
  last_error_ = {};
  property_scratch_.clear();

  proto::connect c;
  c.version = version_;
  c.clean_start = clean_start_next_;
  c.keep_alive = static_cast<std::uint16_t>(std::min<std::int64_t>(options_.keep_alive.count(), 65535));
  c.client_id = client_id_;
  if (options_.will) {
    const auto& w = *options_.will;
    proto::will will;
    will.topic = w.topic;
    will.payload = as_bytes(w.payload);
    will.qos = w.qos;
    will.retain = w.retain;
    if (version_ == protocol_version::v5) {
      view_message_properties(w.properties, will.properties, property_scratch_);
      if (w.delay_interval) will.properties.will_delay_interval = w.delay_interval;
    }
    c.will = will;
  }
  if (creds.username) c.username = *creds.username;
  if (creds.password) c.password = as_bytes(*creds.password);
  if (version_ == protocol_version::v5) {
    auto& p = c.properties;
    if (options_.session_expiry_interval) p.session_expiry_interval = options_.session_expiry_interval;
    if (options_.receive_maximum != 65535) p.receive_maximum = std::max<std::uint16_t>(options_.receive_maximum, 1);
    if (options_.maximum_packet_size && options_.maximum_packet_size < proto::max_packet_size)
      p.maximum_packet_size = options_.maximum_packet_size;
    if (options_.topic_alias_maximum) p.topic_alias_maximum = options_.topic_alias_maximum;
    if (!options_.request_problem_information) p.request_problem_information = false;
    p.user_properties = view_of(options_.connect_user_properties, property_scratch_);
    reauthenticating_ = false;
    if (options_.authenticator) {
      auth_method_ = options_.authenticator->method();
      auth_data_ = options_.authenticator->initial_data();
      p.authentication_method = auth_method_;
      if (auth_data_) p.authentication_data = as_bytes(*auth_data_);
    } else {
      if (creds.authentication_method) p.authentication_method = *creds.authentication_method;
      if (creds.authentication_data) p.authentication_data = as_bytes(*creds.authentication_data);
    }
  }
  // CONNECT is the only packet written before CONNACK [MQTT-3.1.0-1]. An oversized field is the user's error
  // and surfaces when the connection attempt fails.
  if (auto ec = append(c)) last_error_ = {ec, reason_code::success, {}, {}};
  state_ = session_state::awaiting_connack;
  stats_.connection_attempts.add();
  keep_alive_.start({}, {}, now);  // off until CONNACK says what the keep alive is
}

void session::end_connection(clock::time_point now) {
  if (state_ == session_state::connected || state_ == session_state::disconnecting) stats_.on_disconnected(now);
  state_ = session_state::disconnected;
  pending_.clear();
  writing_.clear();
  read_buffer_.clear();
  input_blocked_ = false;
  quota_in_use_ = 0;
  throttled_until_ = {};
  for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
    auto& e = outgoing_.entry(id);
    e.counts_quota = false;
    e.needs_send = true;
  }
  outgoing_unsent_ = !outgoing_.empty();
  outgoing_aliases_.clear();
  alias_owner_.clear();
  next_alias_ = 1;
  incoming_aliases_.clear();
  read_buffer_.shrink_to(initial_read_capacity);
  pending_.shrink_to(options_.write_buffer_limit);
  writing_.shrink_to(options_.write_buffer_limit);
  update_gauges();
}

void session::begin_disconnect(reason_code reason, std::optional<std::uint32_t> session_expiry_interval,
                               std::string_view reason_string, const user_properties& properties) {
  if (state_ != session_state::connected && state_ != session_state::awaiting_connack) return;
  proto::disconnect d;
  property_scratch_.clear();
  if (version_ == protocol_version::v5) {
    d.reason = reason;
    if (session_expiry_interval) d.properties.session_expiry_interval = session_expiry_interval;
    if (!reason_string.empty()) d.properties.reason_string = reason_string;
    d.properties.user_properties = view_of(properties, property_scratch_);
  }
  (void)append(d);
  state_ = session_state::disconnecting;
}

void session::reset_session() {
  clean_start_next_ = true;
  incoming_qos2_.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// Input

std::span<std::uint8_t> session::read_space() {
  // read_buffer_ holds the bytes read and not yet processed; the read goes into the capacity beyond them.
  const std::size_t held = read_buffer_.size();
  std::size_t wanted = held + 1;
  // A packet whose header is in: make room for all of it at once (bounded by read_frame's size check).
  const auto frame = proto::read_frame(read_buffer_.bytes(), incoming_packet_limit());
  if (frame.status == proto::frame_status::need_more && frame.needed > wanted) wanted = frame.needed;
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
  keep_alive_.on_received(now);  // any bytes show the broker is alive, even part of a large packet
  return process_input(now);
}

error_code session::resume_input(clock::time_point now) {
  input_blocked_ = false;
  return process_input(now);
}

error_code session::process_input(clock::time_point now) {
  std::size_t offset = 0;
  error_code ec;
  while (offset < read_buffer_.size() && state_ != session_state::disconnected) {
    const auto rest = read_buffer_.bytes().subspan(offset);
    const auto frame = proto::read_frame(rest, incoming_packet_limit());
    if (frame.status == proto::frame_status::need_more) break;
    if (frame.status == proto::frame_status::error) {
      ec = violation(proto::reason_for(frame.error), frame.error);
      break;
    }
    proto::packet packet;
    if (auto decode_error = proto::decode_packet(frame.header, rest.first(frame.header.packet_size()), version_,
                                                 packet)) {
      ec = violation(proto::reason_for(decode_error), decode_error);
      break;
    }
    bool consumed = true;
    ec = handle(packet, now, consumed);
    if (ec) break;
    if (!consumed) {
      input_blocked_ = true;
      break;
    }
    offset += frame.header.packet_size();
  }
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
    case proto::packet_type::publish: return handle_publish(std::get<proto::publish>(packet), consumed);
    case proto::packet_type::puback: {
      const auto& p = std::get<proto::puback>(packet);
      return handle_puback(p.packet_id, p.reason, p.properties);
    }
    case proto::packet_type::pubrec: {
      const auto& p = std::get<proto::pubrec>(packet);
      return handle_pubrec(p.packet_id, p.reason, p.properties);
    }
    case proto::packet_type::pubrel: return handle_pubrel(std::get<proto::pubrel>(packet).packet_id);
    case proto::packet_type::pubcomp: {
      const auto& p = std::get<proto::pubcomp>(packet);
      return handle_pubcomp(p.packet_id, p.reason, p.properties);
    }
    case proto::packet_type::suback: return handle_suback(std::get<proto::suback>(packet));
    case proto::packet_type::unsuback: return handle_unsuback(std::get<proto::unsuback>(packet));
    case proto::packet_type::pingresp: return {};
    case proto::packet_type::disconnect: return handle_disconnect(std::get<proto::disconnect>(packet));
    case proto::packet_type::auth: return handle_auth(std::get<proto::auth>(packet));
    case proto::packet_type::connack:
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "a second CONNACK");
    default:
      // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ travel only from client to server.
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "a packet a broker must not send");
  }
}

error_code session::handle_connack(const proto::connack& c, clock::time_point now) {
  connack_ = {};
  connack_.session_present = c.session_present;
  if (proto::is_error(c.reason)) {
    last_error_ = {make_error_code(error::connection_refused), c.reason,
                   std::string{c.properties.reason_string.value_or("")},
                   std::string{c.properties.server_reference.value_or("")}};
    return last_error_.error;
  }
  const bool asked_clean = clean_start_next_;
  if (asked_clean && c.session_present)  // [MQTT-3.2.2-2]
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "session present after a clean start");

  const auto& p = c.properties;
  if (options_.authenticator && version_ == protocol_version::v5) {
    if (p.authentication_method.value_or(auth_method_) != auth_method_)  // [MQTT-4.12.0-5]
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "CONNACK with another authentication method");
    const auto data = p.authentication_data.value_or(proto::byte_view{});
    options_.authenticator->succeeded({reinterpret_cast<const char*>(data.data()), data.size()});
  }
  auto& limits = connack_.limits;
  limits.receive_maximum = p.receive_maximum.value_or(65535);
  if (p.maximum_qos) limits.maximum_qos = static_cast<coromqtt::qos>(*p.maximum_qos);
  limits.retain_available = p.retain_available.value_or(true);
  limits.maximum_packet_size = p.maximum_packet_size.value_or(0);
  limits.topic_alias_maximum = p.topic_alias_maximum.value_or(0);
  limits.wildcard_subscription_available = p.wildcard_subscription_available.value_or(true);
  limits.subscription_identifier_available = p.subscription_identifier_available.value_or(true);
  limits.shared_subscription_available = p.shared_subscription_available.value_or(true);
  connack_.server_keep_alive = p.server_keep_alive;
  if (p.assigned_client_identifier) {
    connack_.assigned_client_identifier = *p.assigned_client_identifier;
    client_id_ = connack_.assigned_client_identifier;  // so that a reconnection resumes this session
  }
  if (p.response_information) connack_.response_information = *p.response_information;
  if (p.reason_string) connack_.reason_string = *p.reason_string;
  connack_.user_properties = copy_of(p.user_properties);

  // The broker's Server Keep Alive replaces ours [MQTT-3.2.2-21].
  const clock::duration interval =
      p.server_keep_alive ? std::chrono::seconds{*p.server_keep_alive} : clock::duration{options_.keep_alive};
  const clock::duration ping_timeout =
      options_.ping_timeout > clock::duration::zero() ? options_.ping_timeout : interval / 2;
  keep_alive_.start(interval, ping_timeout, now);

  state_ = session_state::connected;
  stats_.on_connected(now);
  // Later connections resume this session if it can outlive the connection.
  clean_start_next_ = version_ == protocol_version::v5 ? options_.session_expiry_interval == 0 : options_.clean_start;
  resume_after_connack(c.session_present, now);
  return {};
}

void session::resume_after_connack(bool session_present, clock::time_point now) {
  if (!session_present) {
    // The broker starts from nothing: what we thought in flight is sent again as new, QoS 2 receipts it
    // forgot cannot be duplicates any more, subscriptions are gone.
    incoming_qos2_.clear();
    outgoing_unsent_ = !outgoing_.empty();
    for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
      auto& e = outgoing_.entry(id);
      e.needs_send = true;
      e.dup = false;
      if (is_publish_stage(e.stage)) {
        const auto& m = std::get<coromqtt::message>(e.request);
        e.stage = m.qos == qos::at_least_once ? awaiting::puback : awaiting::pubrec;
        stats_.resent.add();
      }
    }
    if (options_.resubscribe && !subscriptions_.empty()) {
      // One SUBSCRIBE per subscription identifier, written before anything else.
      std::vector<bool> done(subscriptions_.size(), false);
      for (std::size_t i = 0; i < subscriptions_.size(); ++i) {
        if (done[i]) continue;
        subscribe_request request;
        request.subscription_identifier = subscriptions_[i].subscription_identifier;
        for (std::size_t j = i; j < subscriptions_.size(); ++j) {
          if (done[j] || subscriptions_[j].subscription_identifier != request.subscription_identifier) continue;
          request.subscriptions.push_back(subscriptions_[j].subscription);
          done[j] = true;
        }
        stats_.resubscribed.add(request.subscriptions.size());
        const auto id = outgoing_.allocate();
        if (id == 0) break;
        auto& e = outgoing_.entry(id);
        e.stage = awaiting::suback;
        e.request = std::move(request);
        e.needs_send = true;
        outgoing_unsent_ = true;
        // Move it to the front of the send order by sending it right away.
        send_entry(id, now);
      }
    }
  } else {
    outgoing_unsent_ = !outgoing_.empty();
    for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
      auto& e = outgoing_.entry(id);
      e.needs_send = true;
      // [MQTT-4.4.0-1]: unacknowledged PUBLISH again with DUP = 1, PUBREL again.
      e.dup = e.stage == awaiting::puback || e.stage == awaiting::pubrec;
    }
  }
  progress(now);
}

error_code session::handle_publish(const proto::publish& p, bool& consumed) {
  // Decide everything that needs room before changing any state: if the receive queue is full the packet
  // stays in the buffer and is handled again, from scratch, once there is room.
  const bool duplicate_qos2 =
      p.qos == qos::exactly_once && std::binary_search(incoming_qos2_.begin(), incoming_qos2_.end(), p.packet_id);
  const bool deliver = !duplicate_qos2;
  if (deliver && receive_queue_.size() >= std::max<std::size_t>(options_.receive_queue_capacity, 1)) {
    consumed = false;
    return {};
  }

  std::string_view topic = p.topic;
  if (const auto alias = p.properties.topic_alias) {
    if (*alias == 0 || *alias > options_.topic_alias_maximum)  // [MQTT-3.3.2-8], [MQTT-3.3.2-10]
      return violation(reason_code::topic_alias_invalid, make_error_code(error::protocol_violation),
                       "topic alias out of range");
    if (incoming_aliases_.size() < *alias) incoming_aliases_.resize(*alias);
    auto& mapped = incoming_aliases_[*alias - 1u];
    if (!topic.empty())
      mapped.assign(topic);
    else if (mapped.empty())
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "unknown topic alias");
    topic = mapped;
  }

  stats_.messages_received.add();
  if (p.qos == qos::exactly_once && !duplicate_qos2) {
    // The broker broke our Receive Maximum [MQTT-3.3.4-9]; the standard's answer is DISCONNECT 0x93.
    if (version_ == protocol_version::v5 && incoming_qos2_.size() >= options_.receive_maximum)
      return violation(reason_code::receive_maximum_exceeded, make_error_code(error::protocol_violation),
                       "receive maximum exceeded");
    incoming_qos2_.insert(std::lower_bound(incoming_qos2_.begin(), incoming_qos2_.end(), p.packet_id),
                          p.packet_id);
  }
  if (deliver) {
    auto& m = receive_queue_.emplace_back();
    m.topic.assign(topic);
    m.payload.assign(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
    m.qos = p.qos;
    m.retain = p.retain;
    if (version_ == protocol_version::v5) {
      copy_message_properties(p.properties, m.properties);
      m.properties.subscription_identifiers.assign(p.properties.subscription_identifiers.begin(),
                                                   p.properties.subscription_identifiers.end());
    }
    stats_.messages_delivered.add();
  }
  // Method B of [MQTT-4.3.3]: deliver on PUBLISH, remember the identifier until PUBREL, so a retransmitted
  // PUBLISH (DUP) is acknowledged again but not delivered again.
  if (p.qos == qos::at_least_once) return append(ack<proto::puback>(p.packet_id));
  if (p.qos == qos::exactly_once) return append(ack<proto::pubrec>(p.packet_id));
  return {};
}

error_code session::handle_puback(std::uint16_t id, reason_code rc, const proto::ack_properties& props) {
  auto* e = outgoing_.find(id);
  if (!e || e->stage != awaiting::puback)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "PUBACK for a packet identifier not awaiting one");
  if (e->counts_quota) --quota_in_use_;
  publish_result result{rc, std::string{props.reason_string.value_or("")}, copy_of(props.user_properties)};
  stats_.publishes_acked.add();
  finish_publish(id, proto::is_error(rc) ? make_error_code(error::rejected_by_broker) : error_code{},
                 std::move(result));
  return {};
}

error_code session::handle_pubrec(std::uint16_t id, reason_code rc, const proto::ack_properties& props) {
  auto* e = outgoing_.find(id);
  if (!e || (e->stage != awaiting::pubrec && e->stage != awaiting::pubcomp))
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "PUBREC for a packet identifier not awaiting one");
  if (proto::is_error(rc)) {
    // The flow ends here [MQTT-4.3.3]; the quota unit comes back [MQTT-4.9.0].
    if (e->counts_quota) --quota_in_use_;
    publish_result result{rc, std::string{props.reason_string.value_or("")}, copy_of(props.user_properties)};
    finish_publish(id, make_error_code(error::rejected_by_broker), std::move(result));
    return {};
  }
  e->stage = awaiting::pubcomp;
  e->dup = false;
  return append(ack<proto::pubrel>(id));
}

error_code session::handle_pubrel(std::uint16_t id) {
  const auto it = std::lower_bound(incoming_qos2_.begin(), incoming_qos2_.end(), id);
  if (it != incoming_qos2_.end() && *it == id) {
    incoming_qos2_.erase(it);
    return append(ack<proto::pubcomp>(id));
  }
  // A PUBREL we have no record of (e.g. our PUBCOMP was lost with the connection): complete the flow anyway.
  auto answer = ack<proto::pubcomp>(id);
  if (version_ == protocol_version::v5) answer.reason = reason_code::packet_identifier_not_found;
  return append(answer);
}

error_code session::handle_pubcomp(std::uint16_t id, reason_code rc, const proto::ack_properties& props) {
  auto* e = outgoing_.find(id);
  if (!e || e->stage != awaiting::pubcomp)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "PUBCOMP for a packet identifier not awaiting one");
  if (e->counts_quota) --quota_in_use_;
  publish_result result{rc, std::string{props.reason_string.value_or("")}, copy_of(props.user_properties)};
  stats_.publishes_acked.add();
  finish_publish(id, proto::is_error(rc) ? make_error_code(error::rejected_by_broker) : error_code{},
                 std::move(result));
  return {};
}

error_code session::handle_suback(const proto::suback& s) {
  auto* e = outgoing_.find(s.packet_id);
  if (!e || e->stage != awaiting::suback)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "SUBACK for a packet identifier not awaiting one");
  auto& request = std::get<subscribe_request>(e->request);
  if (s.reasons.size() != request.subscriptions.size())  // [MQTT-3.8.4-6]
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "SUBACK with a different number of reason codes than filters");
  subscribe_result result;
  result.reasons.assign(s.reasons.begin(), s.reasons.end());
  result.reason_string = s.properties.reason_string.value_or("");
  result.user_properties = copy_of(s.properties.user_properties);
  bool refused = false;
  for (std::size_t i = 0; i < request.subscriptions.size(); ++i) {
    if (proto::is_error(result.reasons[i])) {
      refused = true;
      continue;
    }
    auto& sub = request.subscriptions[i];
    auto same = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                             [&](const registered_subscription& r) { return r.subscription.filter == sub.filter; });
    if (same == subscriptions_.end())
      subscriptions_.push_back({std::move(sub), request.subscription_identifier});
    else
      *same = {std::move(sub), request.subscription_identifier};
  }
  auto* op = static_cast<subscribe_op*>(e->op);
  outgoing_.release(s.packet_id);
  if (op) op->complete(refused ? make_error_code(error::subscription_refused) : error_code{}, std::move(result));
  return {};
}

error_code session::handle_unsuback(const proto::unsuback& u) {
  auto* e = outgoing_.find(u.packet_id);
  if (!e || e->stage != awaiting::unsuback)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "UNSUBACK for a packet identifier not awaiting one");
  auto& request = std::get<unsubscribe_request>(e->request);
  unsubscribe_result result;
  if (version_ == protocol_version::v5) {
    if (u.reasons.size() != request.filters.size())  // [MQTT-3.11.3-1]
      return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                       "UNSUBACK with a different number of reason codes than filters");
    result.reasons.assign(u.reasons.begin(), u.reasons.end());
  } else {
    result.reasons.assign(request.filters.size(), reason_code::success);
  }
  result.reason_string = u.properties.reason_string.value_or("");
  result.user_properties = copy_of(u.properties.user_properties);
  // The subscription is gone whatever the code says, unless the broker refused to remove it.
  for (std::size_t i = 0; i < request.filters.size(); ++i) {
    if (proto::is_error(result.reasons[i]) && result.reasons[i] != reason_code::no_subscription_existed) continue;
    std::erase_if(subscriptions_,
                  [&](const registered_subscription& r) { return r.subscription.filter == request.filters[i]; });
  }
  auto* op = static_cast<unsubscribe_op*>(e->op);
  outgoing_.release(u.packet_id);
  if (op) op->complete({}, std::move(result));
  return {};
}

error_code session::handle_disconnect(const proto::disconnect& d) {
  last_error_ = {make_error_code(error::disconnected_by_broker), d.reason,
                 std::string{d.properties.reason_string.value_or("")},
                 std::string{d.properties.server_reference.value_or("")}};
  return last_error_.error;
}

error_code session::send_auth(reason_code reason, const std::optional<std::string>& data) {
  auth_data_ = data;
  proto::auth packet;
  packet.reason = reason;
  packet.properties.authentication_method = auth_method_;
  if (auth_data_) packet.properties.authentication_data = as_bytes(*auth_data_);
  return append(packet);
}

error_code session::handle_auth(const proto::auth& a) {
  // AUTH only answers an exchange we started: during CONNECT with an authenticator, or a re-authentication
  // [MQTT-4.12.0-2], [MQTT-4.12.1-1].
  const bool expected = options_.authenticator && version_ == protocol_version::v5 &&
                        (state_ == session_state::awaiting_connack || reauthenticating_);
  if (!expected)
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation), "unexpected AUTH");
  if (a.properties.authentication_method.value_or("") != auth_method_)  // [MQTT-4.12.0-5]
    return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                     "AUTH with another authentication method");
  const auto data = a.properties.authentication_data.value_or(proto::byte_view{});
  const std::string_view data_view{reinterpret_cast<const char*>(data.data()), data.size()};
  if (a.reason == reason_code::continue_authentication) {
    auto step = options_.authenticator->challenge(data_view);
    if (step.abort) {
      last_error_ = {make_error_code(error::authentication_failed), reason_code::not_authorized, {}, {}};
      return last_error_.error;
    }
    return send_auth(reason_code::continue_authentication, step.data);
  }
  if (a.reason == reason_code::success && reauthenticating_) {
    reauthenticating_ = false;
    ++reauthentications_;
    options_.authenticator->succeeded(data_view);
    return {};
  }
  // 0x19 comes only from the client; success before CONNACK is CONNACK's job.
  return violation(reason_code::protocol_error, make_error_code(error::protocol_violation),
                   "AUTH with an unexpected reason code");
}

error_code session::reauthenticate() {
  if (version_ != protocol_version::v5 || !options_.authenticator) return make_error_code(error::invalid_argument);
  if (state_ != session_state::connected) return make_error_code(error::not_connected);
  if (reauthenticating_) return {};  // one exchange at a time
  reauthenticating_ = true;
  return send_auth(reason_code::re_authenticate, options_.authenticator->initial_data());
}

coromqtt::message session::pop_message() {
  auto m = std::move(receive_queue_.front());
  receive_queue_.pop_front();
  stats_.receive_queue.set(receive_queue_.size());
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// Output

template <class Packet>
error_code session::append(const Packet& packet) {
  const auto sized = proto::encoded_size(packet, version_);
  if (sized.error) return sized.error;
  const auto limit = connack_.limits.maximum_packet_size;
  if (limit && sized.size > limit) return make_error_code(error::packet_too_large);  // [MQTT-3.2.2-15]
  proto::encode(packet, version_, pending_.append(sized.size));
  return {};
}

error_code session::append_publish(const coromqtt::message& m, std::uint16_t packet_id, bool dup) {
  proto::publish p;
  p.topic = m.topic;
  p.payload = as_bytes(m.payload);
  p.qos = m.qos;
  p.retain = m.retain;
  p.dup = dup;
  p.packet_id = packet_id;
  std::uint16_t new_alias = 0;
  if (version_ == protocol_version::v5) {
    property_scratch_.clear();
    view_message_properties(m.properties, p.properties, property_scratch_);
    if (options_.auto_topic_alias && connack_.limits.topic_alias_maximum > 0) {
      // Aliases are assigned first come, first served until the broker's maximum, then topics go in full.
      if (auto it = outgoing_aliases_.find(m.topic); it != outgoing_aliases_.end()) {
        p.properties.topic_alias = it->second;
        p.topic = {};
      } else if (next_alias_ <= connack_.limits.topic_alias_maximum) {
        new_alias = next_alias_;
        p.properties.topic_alias = new_alias;
      }
    }
  }
  if (auto ec = append(p)) return ec;
  if (new_alias) {  // only now that the broker will see the mapping
    outgoing_aliases_.emplace(m.topic, new_alias);
    ++next_alias_;
  }
  stats_.messages_sent.add();
  return {};
}

std::span<const std::uint8_t> session::prepare_write() {
  assert(writing_.empty());
  writing_.swap(pending_);
  stats_.write_buffer_bytes.set(0);
  return writing_.bytes();
}

void session::commit_write(clock::time_point now) {
  stats_.bytes_sent.add(writing_.size());
  writing_.clear();
  if (writing_.capacity() > 4 * options_.write_buffer_limit) writing_.shrink_to(options_.write_buffer_limit);
  keep_alive_.on_sent(now);
  progress(now);
  update_gauges();
}

std::uint32_t session::incoming_packet_limit() const noexcept {
  // 0 in the options means no limit of our own: the protocol's.
  return options_.maximum_packet_size ? options_.maximum_packet_size : proto::max_packet_size;
}

std::uint16_t session::wire_quota() const noexcept {
  return std::min<std::uint16_t>(options_.effective_inflight_window(), connack_.limits.receive_maximum);
}

bool session::take_tokens(const coromqtt::message& m, clock::time_point now) {
  if (!message_rate_.limited() && !byte_rate_.limited()) return true;
  const double bytes = static_cast<double>(m.topic.size() + m.payload.size());
  const auto ready = std::max(message_rate_.available_at(1, now), byte_rate_.available_at(bytes, now));
  if (ready > now) {
    throttled_until_ = ready;
    return false;
  }
  message_rate_.try_take(1, now);
  byte_rate_.try_take(bytes, now);
  return true;
}

bool session::send_entry(std::uint16_t id, clock::time_point now) {
  auto& e = outgoing_.entry(id);
  switch (e.stage) {
    case awaiting::puback:
    case awaiting::pubrec: {
      if (quota_in_use_ >= wire_quota()) return false;  // [MQTT-3.3.4-7], [MQTT-4.9.0-2]
      if (pending_.size() >= options_.write_buffer_limit) return false;
      const auto& m = std::get<coromqtt::message>(e.request);
      if (!take_tokens(m, now)) return false;  // retransmissions are paced too
      if (auto ec = append_publish(m, id, e.dup)) {
        finish_publish(id, ec, {});
        return true;
      }
      if (e.dup) stats_.retransmitted.add();
      e.needs_send = false;
      e.counts_quota = true;
      ++quota_in_use_;
      return true;
    }
    case awaiting::pubcomp:
      e.needs_send = false;
      stats_.retransmitted.add();
      (void)append(ack<proto::pubrel>(id));
      return true;
    case awaiting::suback: {
      const auto& r = std::get<subscribe_request>(e.request);
      std::vector<proto::subscription> views;
      views.reserve(r.subscriptions.size());
      for (const auto& s : r.subscriptions)
        views.push_back({s.filter,
                         {s.options.max_qos, s.options.no_local, s.options.retain_as_published, s.options.retain_handling}});
      proto::subscribe packet;
      packet.packet_id = id;
      packet.subscriptions = std::span<const proto::subscription>{views};
      property_scratch_.clear();
      if (version_ == protocol_version::v5) {
        packet.properties.subscription_identifier = r.subscription_identifier;
        packet.properties.user_properties = view_of(r.user_properties, property_scratch_);
      }
      e.needs_send = false;
      if (auto ec = append(packet)) {
        auto* op = static_cast<subscribe_op*>(e.op);
        outgoing_.release(id);
        if (op) op->complete(ec, {});
      }
      return true;
    }
    case awaiting::unsuback: {
      const auto& r = std::get<unsubscribe_request>(e.request);
      std::vector<std::string_view> views(r.filters.begin(), r.filters.end());
      proto::unsubscribe packet;
      packet.packet_id = id;
      packet.filters = std::span<const std::string_view>{views};
      property_scratch_.clear();
      if (version_ == protocol_version::v5)
        packet.properties.user_properties = view_of(r.user_properties, property_scratch_);
      e.needs_send = false;
      if (auto ec = append(packet)) {
        auto* op = static_cast<unsubscribe_op*>(e.op);
        outgoing_.release(id);
        if (op) op->complete(ec, {});
      }
      return true;
    }
    case awaiting::nothing: break;
  }
  return true;
}

void session::pump(clock::time_point now) {
  if (state_ != session_state::connected) return;
  // What the session owes the broker first: retransmissions and requests of earlier connections, in their
  // original order, then new messages [MQTT-4.6.0-1]. The walk runs only while some entry is unsent: in steady
  // state every entry was written and pump() would otherwise visit the whole window for each message.
  if (outgoing_unsent_) {
    for (auto id = outgoing_.first(); id;) {
      const auto next = outgoing_.next(id);  // send_entry may release `id`
      if (outgoing_.entry(id).needs_send && !send_entry(id, now)) return;
      id = next;
    }
    outgoing_unsent_ = false;
  }
  while (!outbox_.empty()) {
    auto& item = outbox_.front();
    auto& m = item.message;
    if (pending_.size() >= options_.write_buffer_limit) return;
    if (m.qos == qos::at_most_once) {
      if (!take_tokens(m, now)) return;
      if (auto ec = check_publish(m); !ec) (void)append_publish(m, 0, false);
      // A QoS 0 publisher completed when its message was queued; an invalid one is dropped here only if the
      // broker's limits changed while it waited (checked again against the new CONNACK).
    } else {
      if (quota_in_use_ >= wire_quota()) return;
      if (!take_tokens(m, now)) return;
      if (auto ec = check_publish(m)) {
        auto* op = item.op;
        outbox_bytes_ -= item.cost;
        outbox_.pop_front();
        --window_in_use_;
        if (op) op->complete(ec, {});
        continue;
      }
      const auto id = outgoing_.allocate();
      if (id == 0) return;  // all identifiers in use: wait for acknowledgements
      auto& e = outgoing_.entry(id);
      e.stage = m.qos == qos::at_least_once ? awaiting::puback : awaiting::pubrec;
      e.op = item.op;
      e.request = std::move(m);
      if (auto ec = append_publish(std::get<coromqtt::message>(e.request), id, false)) {
        outbox_bytes_ -= item.cost;
        outbox_.pop_front();
        finish_publish(id, ec, {});
        continue;
      }
      e.counts_quota = true;
      ++quota_in_use_;
    }
    outbox_bytes_ -= item.cost;
    outbox_.pop_front();
  }
}

void session::progress(clock::time_point now) {
  for (;;) {
    pump(now);
    bool admitted = false;
    while (!admission_.empty() && room_for(admission_.front()->message) == room::yes) {
      admit(*admission_.pop_front(), now);
      admitted = true;
    }
    if (!admitted) break;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

std::size_t session::queue_cost(const coromqtt::message& m) noexcept {
  return sizeof(coromqtt::message) + m.topic.size() + m.payload.size();
}

error_code session::check_publish(const coromqtt::message& m) const {
  if (auto ec = proto::validate_topic_name(m.topic)) return ec;
  if (state_ == session_state::connected || stats_.connects.get() > 0) {
    // Limits of the broker we talk (or last talked) to [MQTT-3.2.2-11], [MQTT-3.2.2-14].
    if (m.qos > connack_.limits.maximum_qos) return make_error_code(error::qos_not_supported);
    if (m.retain && !connack_.limits.retain_available) return make_error_code(error::retain_not_supported);
  }
  return {};
}

session::room session::room_for(const coromqtt::message& m) const noexcept {
  if (m.qos != qos::at_most_once && window_in_use_ >= wire_quota())
    return room::window_full;
  // Connected and nothing queued: a QoS 0 message goes straight into the write buffer, bounded by it.
  if (m.qos == qos::at_most_once && state_ == session_state::connected && outbox_.empty() &&
      throttled_until_ == clock::time_point{})
    return pending_.size() < options_.write_buffer_limit ? room::yes : room::buffer_full;
  if (outbox_.empty()) return room::yes;  // one message is always let in, however large
  if (outbox_.size() >= options_.max_queued_messages || outbox_bytes_ + queue_cost(m) > options_.max_queued_bytes)
    return room::queue_full;
  return room::yes;
}

void session::admit(publish_op& op, clock::time_point now) {
  auto& m = op.message;
  if (m.qos == qos::at_most_once) {
    // QoS 0 completes once the message is queued: encoded now if possible, else held in the outbox.
    if (state_ == session_state::connected && outbox_.empty() && pending_.size() < options_.write_buffer_limit &&
        take_tokens(m, now)) {
      auto ec = append_publish(m, 0, false);
      op.complete(ec, {});
      return;
    }
    const auto cost = queue_cost(m);
    outbox_.emplace_back(std::move(m), nullptr, cost);
    outbox_bytes_ += cost;
    op.complete({}, {});
    return;
  }
  ++window_in_use_;
  const auto cost = queue_cost(m);
  outbox_.emplace_back(std::move(m), &op, cost);
  outbox_bytes_ += cost;
}

bool session::try_publish_now(const coromqtt::message& m, clock::time_point now, error_code& ec) {
  if (m.qos != qos::at_most_once || state_ != session_state::connected || !outbox_.empty() ||
      !admission_.empty() || pending_.size() >= options_.write_buffer_limit)
    return false;
  if ((ec = check_publish(m))) return true;
  if (!take_tokens(m, now)) return false;
  ec = append_publish(m, 0, false);
  return true;
}

void session::publish(publish_op& op, clock::time_point now) {
  if (auto ec = check_publish(op.message)) {
    op.complete(ec, {});
    return;
  }
  if (admission_.empty()) {
    const auto r = room_for(op.message);
    if (r == room::yes) {
      admit(op, now);
      progress(now);
      update_gauges();
      return;
    }
    if (r == room::queue_full && options_.when_queue_full == queue_full_policy::fail) {
      op.complete(make_error_code(error::queue_full), {});
      return;
    }
  } else if (options_.when_queue_full == queue_full_policy::fail && room_for(op.message) == room::queue_full) {
    op.complete(make_error_code(error::queue_full), {});
    return;
  }
  admission_.push_back(&op);
  update_gauges();
}

void session::subscribe(subscribe_op& op, clock::time_point now) {
  for (const auto& s : op.request.subscriptions) {
    if (auto ec = proto::validate_topic_filter(s.filter)) {
      op.complete(ec, {});
      return;
    }
  }
  if (op.request.subscriptions.empty()) {
    op.complete(make_error_code(proto::error::empty_subscription_list), {});
    return;
  }
  const auto id = outgoing_.allocate();
  if (id == 0) {
    op.complete(make_error_code(error::packet_identifiers_exhausted), {});
    return;
  }
  auto& e = outgoing_.entry(id);
  e.stage = awaiting::suback;
  e.request = std::move(op.request);
  e.op = &op;
  e.needs_send = true;
  outgoing_unsent_ = true;
  if (state_ == session_state::connected) send_entry(id, now);
  update_gauges();
}

void session::unsubscribe(unsubscribe_op& op, clock::time_point now) {
  for (const auto& f : op.request.filters) {
    if (auto ec = proto::validate_topic_filter(f)) {
      op.complete(ec, {});
      return;
    }
  }
  if (op.request.filters.empty()) {
    op.complete(make_error_code(proto::error::empty_unsubscription_list), {});
    return;
  }
  const auto id = outgoing_.allocate();
  if (id == 0) {
    op.complete(make_error_code(error::packet_identifiers_exhausted), {});
    return;
  }
  auto& e = outgoing_.entry(id);
  e.stage = awaiting::unsuback;
  e.request = std::move(op.request);
  e.op = &op;
  e.needs_send = true;
  outgoing_unsent_ = true;
  if (state_ == session_state::connected) send_entry(id, now);
  update_gauges();
}

void session::finish_publish(std::uint16_t id, error_code ec, publish_result result) {
  auto& e = outgoing_.entry(id);
  auto* op = static_cast<publish_op*>(e.op);
  outgoing_.release(id);
  --window_in_use_;
  if (op) op->complete(ec, std::move(result));
}

bool session::cancel(std::uint64_t serial) {
  const error_code aborted = asio::error::operation_aborted;
  if (auto* op = admission_.find(serial)) {
    admission_.erase(op);
    op->complete(aborted, {});
    return true;
  }
  for (std::size_t i = 0; i < outbox_.size(); ++i) {
    auto* op = outbox_[i].op;
    if (!op || op->serial != serial) continue;
    outbox_bytes_ -= outbox_[i].cost;
    outbox_.erase(i);
    --window_in_use_;
    update_gauges();
    op->complete(aborted, {});
    return true;
  }
  for (auto id = outgoing_.first(); id; id = outgoing_.next(id)) {
    auto& e = outgoing_.entry(id);
    if (!e.op || e.op->serial != serial) continue;
    auto* hook = e.op;
    const auto stage = e.stage;
    if (e.needs_send && !is_publish_stage(stage))
      outgoing_.release(id);  // a SUBSCRIBE / UNSUBSCRIBE never written: forget it
    else
      e.op = nullptr;  // written: the flow completes without its requester (a publish keeps its window slot)
    if (is_publish_stage(stage))
      static_cast<publish_op*>(hook)->complete(aborted, {});
    else if (stage == awaiting::suback)
      static_cast<subscribe_op*>(hook)->complete(aborted, {});
    else
      static_cast<unsubscribe_op*>(hook)->complete(aborted, {});
    return true;
  }
  return false;
}

void session::abort_all(error_code ec) {
  while (auto* op = admission_.pop_front()) op->complete(ec, {});
  while (!outbox_.empty()) {
    auto* op = outbox_.front().op;
    outbox_.pop_front();
    if (op) op->complete(ec, {});
  }
  outbox_bytes_ = 0;
  for (auto id = outgoing_.first(); id;) {
    const auto next = outgoing_.next(id);
    auto& e = outgoing_.entry(id);
    auto* hook = e.op;
    const auto stage = e.stage;
    outgoing_.release(id);
    if (hook) {
      if (is_publish_stage(stage))
        static_cast<publish_op*>(hook)->complete(ec, {});
      else if (stage == awaiting::suback)
        static_cast<subscribe_op*>(hook)->complete(ec, {});
      else
        static_cast<unsubscribe_op*>(hook)->complete(ec, {});
    }
    id = next;
  }
  window_in_use_ = 0;
  quota_in_use_ = 0;
  update_gauges();
}

// ---------------------------------------------------------------------------------------------------------------
// Time

clock::time_point session::next_timer() const noexcept {
  auto at = clock::time_point::max();
  if (state_ == session_state::connected) at = keep_alive_.next_deadline();
  if (throttled_until_ != clock::time_point{}) at = std::min(at, throttled_until_);
  return at;
}

error_code session::on_timer(clock::time_point now) {
  if (state_ != session_state::connected) return {};
  if (keep_alive_.expired(now)) {
    last_error_ = {make_error_code(error::keep_alive_timeout), reason_code::keep_alive_timeout, {}, {}};
    return last_error_.error;
  }
  if (keep_alive_.ping_due(now)) {
    (void)append(proto::pingreq{});
    keep_alive_.on_ping_sent(now);
    stats_.pings_sent.add();
  }
  if (throttled_until_ != clock::time_point{} && throttled_until_ <= now) {
    throttled_until_ = {};
    progress(now);
  }
  update_gauges();
  return {};
}

void session::update_gauges() {
  stats_.inflight.set(quota_in_use_);
  stats_.window_in_use.set(window_in_use_);
  stats_.queued_messages.set(outbox_.size());
  stats_.queued_bytes.set(outbox_bytes_);
  stats_.write_buffer_bytes.set(pending_.size());
  stats_.receive_queue.set(receive_queue_.size());
}

}  // namespace coromqtt::detail
