// Counters of one client, readable at any time from any thread (client::statistics()).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace coromqtt {

struct statistics {
  // Totals since the client was made.
  std::uint64_t messages_sent = 0;        // PUBLISH packets written, retransmissions included
  std::uint64_t bytes_sent = 0;           // every byte written to the transport
  std::uint64_t messages_received = 0;    // PUBLISH packets read, duplicates included
  std::uint64_t messages_delivered = 0;   // handed to the receive queue (a QoS 2 duplicate is not)
  std::uint64_t messages_discarded = 0;   // acknowledged and dropped (client_options::discard_incoming_messages)
  std::uint64_t bytes_received = 0;       // every byte read from the transport
  std::uint64_t publishes_acked = 0;      // QoS 1/2 publishes the broker acknowledged (PUBACK / PUBCOMP)
  std::uint64_t retransmitted = 0;        // PUBLISH (DUP) and PUBREL re-sent when a session resumed
  std::uint64_t resent = 0;               // publishes sent again as new because the broker lost the session
  std::uint64_t resubscribed = 0;         // filters restored because the broker lost the session
  // Transport connection attempts (resolve, connect, TLS / WebSocket handshake, CONNECT), counted as each
  // starts: also those that fail before CONNECT is sent (a refused TCP connect, a TLS error).
  std::uint64_t connection_attempts = 0;
  std::uint64_t connects = 0;             // connections the broker accepted
  std::uint64_t disconnects = 0;          // accepted connections that ended
  std::uint64_t pings_sent = 0;
  // Acknowledgements (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) for packet identifiers not in use: late
  // duplicates from a confused broker, ignored (a PUBREC is answered with PUBREL, see docs/compliance.md).
  std::uint64_t unexpected_acks = 0;
  std::uint64_t messages_expired = 0;     // MQTT 5: queued publishes dropped because their expiry passed first
  // Received for subscription streams already unsubscribed (before the broker confirmed it) and dropped.
  std::uint64_t messages_dropped_unsubscribed = 0;
  // Current values.
  std::size_t inflight = 0;               // QoS 1/2 publishes on the wire awaiting their acknowledgement
  std::size_t window_in_use = 0;          // QoS 1/2 publishes admitted and not completed (<= the window)
  std::size_t queued_messages = 0;        // admitted publishes not yet written (the offline queue)
  std::size_t queued_bytes = 0;
  std::size_t write_buffer_bytes = 0;     // encoded bytes waiting for the writer
  std::size_t receive_queue = 0;          // messages waiting for co_receive
  // Publishes waiting to be admitted (for a slot of the inflight window, or room in the queue); bounded like
  // the queue (client_options::max_queued_messages / max_queued_bytes).
  std::size_t waiting_publishers = 0;
  bool connected = false;
  std::chrono::steady_clock::duration time_connected{};  // total over all connections, the current included
};

}  // namespace coromqtt
