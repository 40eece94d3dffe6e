// The MQTT session of one client, sans-I/O: bytes in, bytes out, time passed in. It owns everything about the
// protocol that outlives a single read or write: packet identifiers, the inflight window, the QoS 1/2 state
// machines both ways, the queue of messages waiting for the wire, the queue of received messages, topic
// aliases, keep alive, the rate limit and the subscriptions to restore.
//
// The client's coroutines drive it:
//
//        user calls                    reader                              writer
//   publish/subscribe/...   --> read_space() / on_read(n) -->   prepare_write() / commit_write()
//              |                        |                                   ^
//              v                        v                                   |
//   admission queue --> outbox --> [ encoded bytes: pending ] --swap--> [ writing ] --> transport
//                                        ^
//                      acks, PINGREQ, PUBREL, SUBSCRIBE are encoded straight into `pending`
//
// Nothing here blocks or allocates per message in steady state, except to copy received messages out of the
// read buffer and to hold the QoS 1/2 messages that may have to be sent again.
#pragma once

#include "session/byte_buffer.hpp"
#include "session/keep_alive.hpp"
#include "session/operations.hpp"
#include "session/outgoing_table.hpp"
#include "session/ring_buffer.hpp"
#include "session/statistics_counters.hpp"
#include "session/subscription_router.hpp"
#include "session/token_bucket.hpp"
#include "session/topic_alias_table.hpp"

#include <coromqtt/credentials.hpp>
#include <coromqtt/error.hpp>
#include <coromqtt/message.hpp>
#include <coromqtt/options.hpp>
#include <coromqtt/protocol/packets.hpp>
#include <coromqtt/store.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace coromqtt::detail {

using clock = std::chrono::steady_clock;

// The broker's side of the negotiation, from CONNACK (defaults per the standard when a property is absent).
struct broker_limits {
  std::uint16_t receive_maximum = 65535;
  coromqtt::qos maximum_qos = qos::exactly_once;
  bool retain_available = true;
  std::uint32_t maximum_packet_size = 0;  // 0 = no limit beyond the protocol's
  std::uint16_t topic_alias_maximum = 0;
  bool wildcard_subscription_available = true;
  bool subscription_identifier_available = true;
  bool shared_subscription_available = true;
};

// What the broker said when it accepted the connection.
struct connack_info {
  bool session_present = false;
  broker_limits limits;
  std::optional<std::uint16_t> server_keep_alive;
  std::string assigned_client_identifier;
  std::string response_information;
  std::string reason_string;
  coromqtt::user_properties user_properties;
};

// Why the current connection must end, as the session saw it.
struct connection_error {
  error_code error;
  reason_code reason = reason_code::success;  // the broker's (CONNACK/DISCONNECT) or the one we send
  std::string reason_string;                  // the broker's
  std::string server_reference;               // MQTT 5 Server Reference (0x9C / 0x9D)
  // The session detected the problem (a protocol violation by the broker): on MQTT 5 the client should tell
  // the broker why with DISCONNECT(reason) before closing (section 4.13).
  bool we_should_disconnect = false;
};

enum class session_state {
  disconnected,      // no transport
  awaiting_connack,  // CONNECT encoded, waiting for the broker's answer
  connected,
  disconnecting,  // DISCONNECT encoded; nothing else will be written
};

class session {
 public:
  explicit session(const client_options& options, statistics_counters& stats);
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  session_state state() const noexcept { return state_; }
  protocol::protocol_version version() const noexcept { return version_; }

  // --- Connection lifecycle --------------------------------------------------------------------------------

  // A transport is up: encodes CONNECT (with this attempt's credentials) as the first bytes to write. When
  // that fails, last_error() says why (error::authentication_failed when the authenticator threw: then nothing
  // is encoded).
  void begin_connection(const credentials&, clock::time_point now);

  // The transport is gone (any reason). Unwritten bytes are dropped; QoS 1/2 state is kept so that the next
  // connection can resume it; operations that cannot outlive a connection fail.
  void end_connection(clock::time_point now);

  // Encodes DISCONNECT after whatever is already pending; nothing is written after it. With
  // `publish_will` on MQTT 5 the reason is 0x04 (the broker publishes the will); on 3.1.1 the caller should
  // close without DISCONNECT instead, which is the only way to keep the will there.
  void begin_disconnect(reason_code reason, std::optional<std::uint32_t> session_expiry_interval,
                        std::string_view reason_string = {}, const user_properties& properties = {});

  const connack_info& connack() const noexcept { return connack_; }
  const broker_limits& limits() const noexcept { return connack_.limits; }
  // The client identifier of the next CONNECT: the configured one, or the one the broker assigned when we
  // sent an empty one (MQTT 5 [MQTT-3.2.2-16]), reused on later connections.
  const std::string& client_id() const noexcept { return client_id_; }
  // True until a connection succeeds that did not ask for a clean start.
  bool next_connect_is_clean() const noexcept { return clean_start_next_; }
  // Forget all session state (the next CONNECT starts clean): used when the user asks for a fresh session.
  void reset_session();

  // MQTT 5 re-authentication [MQTT-4.12.1]: sends AUTH (0x19) with the authenticator's initial data; the
  // exchange then runs as AUTH packets arrive. Errors: not connected, no authenticator, MQTT 3.1.1;
  // authentication_failed when the authenticator threw (also in last_error(): the connection should end).
  error_code reauthenticate();
  // How many re-authentications the broker has accepted.
  unsigned reauthentications() const noexcept { return reauthentications_; }

  // --- Input
  // ------------------------------------------------------------------------------------------------

  // Where the next read should put its bytes (at least one byte; the buffer grows as packets require).
  std::span<std::uint8_t> read_space();
  // `n` bytes were read into read_space(): processes every complete packet. Returns the error that ends the
  // connection (details in last_error()), or success. Processing stops early, with bytes left over, when the
  // receive queue is full or the bytes waiting for the writer reach write_buffer_limit: see input_blocked()
  // and resume_input().
  error_code on_read(std::size_t n, clock::time_point now);
  // Whether unprocessed packets wait, for room in the receive queue (a slow consumer) or for the writer to
  // take the pending bytes (a broker that does not read what we owe it: every packet we process may add an
  // acknowledgement). The reader must not read more until resume_input() clears it: this is what makes the
  // broker feel either through TCP, and what bounds the session's memory however the broker behaves.
  bool input_blocked() const noexcept { return input_wait_ != input_wait::none; }
  // Whether what blocked the input is gone (room in the receive queue, or the pending bytes taken by the
  // writer): the reader should call resume_input().
  bool input_resumable() const noexcept;
  error_code resume_input(clock::time_point now);
  const connection_error& last_error() const noexcept { return last_error_; }
  // Each packet read from the broker, as its bytes (fixed header included), once handled: for the client's
  // packet trace (client_options::log at trace level). Unset, the session does not look.
  void observe_received_packets(std::function<void(protocol::byte_view)> observer) {
    received_packet_observer_ = std::move(observer);
  }

  // Manual acknowledgement (options().manual_acknowledgement): the application is done with the message
  // whose acknowledgement_id is `id`. Its PUBACK / PUBREC goes out, with `reason` (MQTT 5), once every message
  // received before it is acknowledged too [MQTT-4.6.0-2], [MQTT-4.6.0-3]. An id of an earlier connection, or
  // one already acknowledged, is ignored: the broker sends such a message again (DUP) if the session survives.
  // Every copy of a message delivered to several streams must be acknowledged; the first error reason wins.
  void acknowledge(std::uint64_t id, reason_code reason);
  // Messages delivered and not yet acknowledged (manual acknowledgement), on this connection.
  std::size_t unacknowledged() const noexcept { return held_messages_; }

  // Received messages, in order. Bounded by receive_queue_capacity.
  bool has_message() const noexcept {
    return !receive_queue_.empty() && (!records_outstanding() || deliverable_messages() > 0);
  }
  std::size_t message_count() const noexcept { return receive_queue_.size(); }
  coromqtt::message pop_message();

  // --- Output
  // -----------------------------------------------------------------------------------------------

  bool has_output() const noexcept { return !pending_.empty() && (!records_outstanding() || writable_bytes() > 0); }
  // Bytes the session holds for this connection: read and not yet processed, waiting for the writer, being
  // written; and the capacity of those buffers. However the broker behaves these stay within one read buffer
  // (the larger of 256 KiB and the packet being assembled, which grows only as its bytes arrive) plus twice
  // write_buffer_limit (the bytes waiting, and the batch being written), plus one packet each.
  std::size_t buffered_bytes() const noexcept {
    return read_buffer_.size() + pending_.size() + writing_.size();
  }
  std::size_t buffer_capacity() const noexcept {
    return read_buffer_.capacity() + pending_.capacity() + writing_.capacity();
  }
  // Takes every pending byte for one write. Valid until commit_write(); call again only after it.
  std::span<const std::uint8_t> prepare_write();
  // The bytes from prepare_write() are written: frees the buffer, lets queued messages in.
  void commit_write(clock::time_point now);
  // Nothing is queued, pending or being written (QoS 1/2 acknowledgements may still be outstanding).
  bool flushed() const noexcept {
    return pending_.empty() && writing_.empty() && outbox_.empty() && spilled_through_ <= loaded_through_;
  }
  // Nothing is queued or waiting for an acknowledgement either.
  bool quiescent() const noexcept { return flushed() && outgoing_.empty() && admission_.empty(); }

  // --- Time
  // -------------------------------------------------------------------------------------------------

  // The next moment on_timer() has something to do: a PINGREQ, the keep alive deadline, the rate limit.
  clock::time_point next_timer() const noexcept;
  // Sends PINGREQ when due, lets the rate limit release messages. Returns keep_alive_timeout when the broker
  // has been silent for too long.
  error_code on_timer(clock::time_point now);

  // --- Requests
  // ---------------------------------------------------------------------------------------------

  // The fast path of QoS 0: encodes the message straight into the pending bytes when nothing is queued ahead
  // of it, the rate limit allows it and there is room. Returns false (nothing done) otherwise; then use
  // publish() with an operation. An invalid message is reported through `ec` (and true is returned); `ec` is
  // left as it is otherwise.
  // `now` is read only under a rate limit (publish_needs_time()).
  bool try_publish_now(const coromqtt::message&, clock::time_point now, error_code& ec);
  // Whether try_publish_now() needs the time: reading the clock can cost as much as the rest of a QoS 0
  // publish (57 ns a call on a virtual machine here), so a caller without a rate limit may skip it.
  bool publish_needs_time() const noexcept { return message_rate_.limited() || byte_rate_.limited(); }

  // Takes the operation: it completes when the message is queued (QoS 0) or acknowledged (QoS 1/2), or fails.
  // It waits first for room in the window / the queue (or fails with queue_full, per the options).
  void publish(publish_op&, clock::time_point now);
  void subscribe(subscribe_op&, clock::time_point now);
  void unsubscribe(unsubscribe_op&, clock::time_point now);

  // How far a cancellation may go once the request has had an effect the broker or the store can see.
  enum class cancel_scope {
    unsent_only,  // total cancellation: no side effects, so a request already written (or stored) goes on
    abandon,      // terminal / partial: a written request's flow goes on without its requester
  };
  // The user gave up on the operation with this serial. Not yet written: it is removed and completes with
  // operation_aborted. Already written (a PUBLISH, SUBSCRIBE or UNSUBSCRIBE on the wire, a message durable in
  // the store): with cancel_scope::abandon its flow goes on without it and it completes with operation_aborted
  // at once; with unsent_only nothing happens and it completes as it would have.
  enum class cancel_outcome {
    not_found,  // no such operation is waiting (it completed already)
    cancelled,  // it completed with operation_aborted
    kept,       // unsent_only, and it had gone out: it goes on
  };
  cancel_outcome cancel(std::uint64_t serial, cancel_scope scope = cancel_scope::abandon);

  // Completes every operation with `ec`, drops queued messages: the client is being destroyed.
  void abort_all(error_code ec);

  // MQTT 5: queued messages dropped because they expired, since the last call, and the topic of the last one.
  std::size_t take_expired(std::string& last_topic) {
    if (expired_unreported_ == 0) return 0;
    last_topic = std::move(last_expired_topic_);
    last_expired_topic_.clear();
    return std::exchange(expired_unreported_, 0);
  }

  // --- Subscription streams (streams.cpp) -----------------------------------------------------------------
  // A message stream of its own for some subscriptions: a bounded queue (`capacity`, at least 1) that
  // receives what the filters of a SUBSCRIBE naming it (subscribe_request::stream) match, once granted.
  // While it is full the session stops reading, as for the receive queue. Returns its key.
  std::uint64_t open_stream(std::size_t capacity);
  enum class stream_status { open, closed, gone };
  stream_status stream_state(std::uint64_t key) noexcept;
  bool stream_has_message(std::uint64_t key) noexcept;
  coromqtt::message pop_stream_message(std::uint64_t key);
  // Unsubscribes the stream: nothing new reaches it (what is queued stays readable), and UNSUBSCRIBE goes out
  // for its filters that no other stream receives. `op` (may be null) completes on that UNSUBACK, at once if
  // there is nothing to unsubscribe.
  void close_stream(std::uint64_t key, unsubscribe_op* op, clock::time_point now);
  // The stream's owner is gone: closed as above, its queued messages dropped (acknowledged, with manual
  // acknowledgement, so that they hold nothing up), the stream forgotten.
  void destroy_stream(std::uint64_t key, clock::time_point now);
  // Streams that received messages since the last call.
  void take_fed_streams(std::vector<std::uint64_t>& keys) { router_.take_fed(keys); }
  std::size_t stream_count() const noexcept { return router_.stream_count(); }

  // The filters the session will restore after a lost session.
  std::size_t subscription_count() const noexcept { return subscriptions_.size(); }

  // --- Persistence (persistence.cpp) -------------------------------------------------------------------------
  // With a session store, the session describes every change that must survive the process as store_records,
  // and holds back what depends on them: bytes written after a record are not handed to the writer
  // (prepare_write), nor messages received after it to the user (pop_message), until the record's batch is
  // durable. The client moves the records to the store and the answers back; the session does no I/O.

  // Before anything else: the session keeps its state in a store with these bounds, and resumes `recovered`.
  // Until every in-flight message's body was loaded (store_ready()), publishes wait.
  void attach_store(const store_limits&, const recovered_session& recovered);
  bool has_store() const noexcept { return store_attached_; }
  bool store_ready() const noexcept { return restoring_.empty(); }
  bool has_store_records() const noexcept { return !store_records_.empty(); }
  // Moves the records made so far into `batch` for one store write. One batch at a time: call again only
  // after on_store_written().
  void take_store_records(std::vector<store_record>& batch);
  // The batch is durable: releases what waited for it (bytes, received messages, stored publishes).
  void on_store_written(clock::time_point now);

  // Messages to read back from the store (a backlog beyond the memory queue, or a restored session).
  struct store_load {
    std::uint64_t after = 0;
    std::uint64_t upto = 0;
    std::size_t max_count = 0;
    std::size_t max_bytes = 0;
  };
  // The next load the session wants, if any; it is then outstanding until on_store_loaded().
  std::optional<store_load> take_store_load();
  void on_store_loaded(std::vector<stored_message>& loaded, const store_load&, clock::time_point now);
  // Pending bytes held back until the store has what they depend on.
  bool output_held() const noexcept { return writable_bytes() < pending_.size(); }

  void update_gauges();  // copies the current queue depths into the statistics

 private:
  struct outbox_item {
    coromqtt::message message;
    publish_op* op = nullptr;  // null for QoS 0 messages whose publisher already completed
    std::size_t cost = 0;      // bytes counted against max_queued_bytes
    std::uint64_t store_seq = 0;  // in the session store (0: not stored)
    bool holds_window = false;    // a QoS 1/2 publish holding a slot of the inflight window
    // When the publisher handed it over (its expiry counts from then). A message read back from the store
    // counts from when it was read: the store keeps no time.
    clock::time_point queued_at{};
  };
  enum class room { yes, window_full, buffer_full, queue_full, store_full, store_busy };
  struct registered_subscription {
    coromqtt::subscription subscription;
    std::optional<std::uint32_t> subscription_identifier;
    bool automatic_identifier = false;  // chosen for a stream: sent only where the broker supports them
    bool routed = false;                // a stream receives it (else the client's receive queue)
  };

  // input.cpp: framing, decoding, dispatch
  error_code process_input(clock::time_point now);
  error_code handle(const protocol::packet&, clock::time_point now, bool& consumed);
  error_code violation(reason_code, error_code, std::string_view what = {});

  // session.cpp: the connection's lifecycle
  error_code handle_connack(const protocol::connack&, clock::time_point now);
  void resume_after_connack(bool session_present, clock::time_point now);
  error_code handle_disconnect(const protocol::disconnect&);

  // receive.cpp: incoming PUBLISH and its acknowledgement flows
  error_code handle_publish(const protocol::publish&, bool& consumed);
  error_code handle_pubrel(std::uint16_t id);
  // An incoming QoS 2 identifier enters the PUBREC-sent state (recorded in the store, if any).
  void remember_incoming_qos2(std::uint16_t id);
  // streams.cpp: where a message goes
  // Fills route_streams_ with the streams that receive a message on `topic` and says whether the client's
  // receive queue gets it too (route_to_default_).
  void route_publish(std::string_view topic, const protocol::publish&);
  std::uint32_t allocate_stream_identifier();
  void unsubscribe_filters(std::vector<std::string> filters, unsubscribe_op* op, clock::time_point now);
  void forget_registration(std::string_view filter);
  // acknowledgements.cpp: manual acknowledgement
  std::uint64_t hold_acknowledgement(const protocol::publish&, bool duplicate, std::uint32_t copies);
  error_code send_held_acknowledgements();

  // publish.cpp: admission of outgoing PUBLISH, and the acknowledgements that end its flows
  error_code check_publish(const coromqtt::message&) const;
  room room_for(const publish_op&) const noexcept;
  // Whether `op` may join the publishers waiting for admission (else it fails with error::queue_full); the
  // waiting list is counted as it changes.
  bool may_wait(const publish_op&) const noexcept;
  void start_waiting(publish_op&);
  publish_op* stop_waiting(publish_op&) noexcept;
  void admit(publish_op&, clock::time_point now);
  void finish_publish(std::uint16_t id, error_code, publish_result);
  error_code handle_puback(std::uint16_t id, reason_code, const protocol::ack_properties&);
  error_code handle_pubrec(std::uint16_t id, reason_code, const protocol::ack_properties&);
  error_code handle_pubcomp(std::uint16_t id, reason_code, const protocol::ack_properties&);
  static std::size_t queue_cost(const coromqtt::message&) noexcept;

  // output.cpp: encoding, and the pump that moves what is owed and what is queued onto the wire
  template <class Packet>
  error_code append(const Packet&);  // defined in session_internal.hpp
  // `waited`: how long the message waited in the session, taken off its Message Expiry Interval.
  error_code append_publish(const coromqtt::message&, std::uint16_t packet_id, bool dup,
                            clock::duration waited = {});
  // MQTT 5: the message's expiry passed while it waited (it must not be sent) [MQTT-3.3.2-5 for the client].
  bool expired(const coromqtt::message&, clock::duration waited) const noexcept;
  void drop_expired(outbox_item&);
  bool send_entry(std::uint16_t id, clock::time_point now);
  bool take_tokens(const coromqtt::message&, clock::time_point now);
  void pump(clock::time_point now);
  // Moves what may go from the queues to the pending bytes, then lets waiting publishers in, until neither
  // moves.
  void progress(clock::time_point now);
  std::uint16_t wire_quota() const noexcept;
  // The bytes waiting for the writer are at write_buffer_limit: input stops until the writer takes them.
  bool output_full() const noexcept {
    return pending_.size() >= std::max<std::size_t>(options_.write_buffer_limit, 1);
  }
  std::uint32_t incoming_packet_limit() const noexcept;

  // subscriptions.cpp
  void send_subscribe(std::uint16_t id, outgoing_entry&);
  void send_unsubscribe(std::uint16_t id, outgoing_entry&);
  error_code handle_suback(const protocol::suback&, clock::time_point now);
  error_code handle_unsuback(const protocol::unsuback&);
  void resubscribe(clock::time_point now);

  // persistence.cpp
  bool stores(const coromqtt::message& m) const noexcept {
    return store_attached_ && (m.qos != qos::at_most_once || store_limits_.store_qos0);
  }
  room store_room_for(const publish_op&) const noexcept;
  bool make_store_room();  // drop_oldest: drops the oldest queued message; false when none could go
  void admit_stored(publish_op&);
  void record(store_record::type, std::uint64_t seq, std::uint16_t packet_id = 0, std::size_t bytes = 0);
  void record_done(std::uint64_t seq, const coromqtt::message&);
  void record_subscriptions();
  void forget_stored(std::uint64_t seq, const coromqtt::message&);
  std::size_t writable_bytes() const noexcept;
  std::size_t deliverable_messages() const noexcept;
  bool records_outstanding() const noexcept { return !store_records_.empty() || store_batch_outstanding_; }
  void drop_pending() noexcept;
  void take_loaded(stored_message&, clock::time_point now);

  // auth.cpp
  error_code handle_auth(const protocol::auth&);
  error_code send_auth(reason_code, const std::optional<std::string>& data);

  const client_options& options_;
  statistics_counters& stats_;
  protocol::protocol_version version_;
  session_state state_ = session_state::disconnected;
  std::string client_id_;
  bool sent_empty_client_id_ = false;  // the CONNECT of this connection let the broker assign the identifier
  bool clean_start_next_;
  connack_info connack_;
  connection_error last_error_;

  // Input
  // What holds unprocessed input back: room for a received message (in the receive queue, in the stream
  // `blocked_stream_`, or under our Receive Maximum with manual acknowledgement), or the writer.
  enum class input_wait : std::uint8_t { none, receive_queue, stream, acknowledgements, write_buffer };
  byte_buffer read_buffer_;  // bytes read and not yet processed; reads go into its spare capacity
  std::function<void(protocol::byte_view)> received_packet_observer_;
  input_wait input_wait_ = input_wait::none;
  input_wait delivery_wait_ = input_wait::receive_queue;  // why handle_publish() left its packet, if it did
  std::uint64_t blocked_stream_ = 0;
  ring_buffer<coromqtt::message> receive_queue_;
  std::vector<std::uint16_t> incoming_qos2_;   // PUBREC sent, PUBREL awaited; sorted [MQTT-4.3.3-10]
  std::vector<std::string> incoming_aliases_;  // index = alias - 1
  // Manual acknowledgement: one entry per incoming QoS 1/2 PUBLISH of this connection not yet answered, in
  // arrival order; the ids are consecutive, so an id finds its entry by subtraction.
  struct held_acknowledgement {
    std::uint64_t id;
    std::uint16_t packet_id;
    coromqtt::qos qos;
    bool duplicate;        // a QoS 2 duplicate (not delivered): answered as soon as its turn comes
    std::uint32_t copies;  // deliveries not yet acknowledged; 0 = ready
    reason_code reason;
  };
  ring_buffer<held_acknowledgement> held_acks_;
  std::uint64_t next_acknowledgement_id_ = 1;
  std::size_t held_messages_ = 0;  // held_acks_ entries that are messages, not duplicates

  // Output
  byte_buffer pending_;
  byte_buffer writing_;
  ring_buffer<outbox_item> outbox_;
  std::size_t outbox_bytes_ = 0;
  op_queue<publish_op> admission_;  // waiting for room in the window or the queue
  std::size_t waiting_publishers_ = 0;  // admission_'s length and the queue cost of its messages
  std::size_t waiting_bytes_ = 0;
  outgoing_table outgoing_;         // packet identifiers in use
  bool outgoing_unsent_ = false;    // some entry of outgoing_ may have needs_send set: pump() walks the table
  std::size_t window_in_use_ = 0;   // QoS 1/2 publishes admitted and not completed
  std::size_t quota_in_use_ = 0;    // QoS 1/2 publishes written on this connection and not acknowledged
  topic_alias_table outgoing_aliases_;  // MQTT 5, with auto_topic_alias: least recently used

  // Persistence (persistence.cpp). Bytes and received messages are counted from the session's start; a batch
  // cut at (bytes produced, messages received) lets that many through once durable.
  struct store_gate {
    std::uint64_t taken = 0;    // bytes handed to the writer (or dropped) / messages popped
    std::uint64_t at_cut = 0;   // produced when the outstanding batch was cut
    std::uint64_t durable = 0;  // produced when the last durable batch was cut
  };
  bool store_attached_ = false;
  store_limits store_limits_;
  std::vector<store_record> store_records_;
  bool store_batch_outstanding_ = false;
  std::size_t store_records_bytes_ = 0;  // message bytes in store_records_ and the outstanding batch
  std::size_t store_batch_bytes_ = 0;
  store_gate output_gate_;
  store_gate delivery_gate_;
  std::uint64_t messages_queued_total_ = 0;  // received messages ever queued
  // The same for subscription streams: a receipt number per received message that went to streams, and the
  // receipts the store has made safe to hand out (stream_gate_.taken is unused).
  std::uint64_t stream_receipts_total_ = 0;
  store_gate stream_gate_;
  std::uint64_t last_seq_ = 0;               // the last message sequence number admitted
  std::uint64_t seq_at_cut_ = 0;             // last_seq_ when the outstanding batch was cut
  std::uint64_t seq_handed_ = 0;             // the last seq the store was handed
  std::size_t stored_messages_ = 0;          // live in the store (counted against its bounds)
  std::size_t stored_bytes_ = 0;
  // Messages in the store and not in the outbox: those after loaded_through_ up to spilled_through_. While
  // there are any, new messages go behind them (stored only; publishers still waiting for an acknowledgement
  // keep theirs in held_).
  std::uint64_t spilled_through_ = 0;
  std::uint64_t loaded_through_ = 0;
  bool store_load_outstanding_ = false;
  ring_buffer<outbox_item> held_;
  // When the spilled messages that carry a Message Expiry Interval were handed over, by seq: read back in this
  // process, their expiry counts from then. Only such messages cost an entry here.
  struct spilled_time {
    std::uint64_t seq;
    clock::time_point at;
  };
  ring_buffer<spilled_time> spilled_times_;
  op_queue<publish_op> store_waiters_;   // complete_when_stored publishers, until their batch is durable
  std::vector<std::uint16_t> restoring_;  // restored in-flight identifiers whose message is not loaded yet
  std::vector<protocol::user_property> property_scratch_;  // views for encoding user properties
  std::size_t expired_unreported_ = 0;
  std::string last_expired_topic_;

  keep_alive keep_alive_;
  token_bucket message_rate_;
  token_bucket byte_rate_;
  clock::time_point throttled_until_{};

  std::vector<registered_subscription> subscriptions_;
  subscription_router router_;
  std::vector<stream_queue*> route_streams_;  // scratch of route_publish()
  bool route_to_default_ = true;
  std::uint64_t next_stream_key_ = 1;
  std::uint32_t next_stream_identifier_ = 1;

  // Enhanced authentication: the method and data of the exchange in progress (they must outlive encoding).
  std::string auth_method_;
  std::optional<std::string> auth_data_;
  bool reauthenticating_ = false;
  unsigned reauthentications_ = 0;
};

}  // namespace coromqtt::detail
