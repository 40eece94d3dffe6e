// Session stores: where a client keeps the part of its MQTT session that must survive the process.
//
//   client_options options;
//   options.store = coromqtt::file_store("/var/lib/app/mqtt", {.durability = store_durability::fsync_batch});
//   coromqtt::client client{io, options};   // resumes what the last client on that directory left
//
// Without a store (the default, options.store == nullptr) the session lives in the client object's memory and
// ends with it. A store receives, in order, the changes of the session as records (store_record), and gives
// back on open() what a new client needs to resume. Two are built in: memory_store() (survives the client
// object, not the process) and file_store() (an append-only, checksummed log in a directory; survives the
// process, and with fsync_batch the machine). Implement session_store to keep the session elsewhere (a
// database): the conformance test in test/unit/store/ runs against every implementation.
#pragma once

#include <coromqtt/error.hpp>
#include <coromqtt/message.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace coromqtt {

// When the store holds max_messages or max_bytes: what a new publish does.
enum class store_full_policy {
  wait,         // the publisher suspends until acknowledgements make room (backpressure)
  fail,         // the publish completes at once with error::queue_full
  drop_oldest,  // the oldest message not yet sent is dropped (its publisher gets error::message_dropped)
};

// Bounds of a store, enforced by the client at admission. Bytes are counted with stored_cost().
struct store_limits {
  std::size_t max_messages = 1'000'000;
  std::size_t max_bytes = std::size_t{1} << 30;  // 1 GiB
  store_full_policy when_full = store_full_policy::wait;
  // Also keep QoS 0 messages of the offline queue (sent at most once after a restart). Off: QoS 0 is never
  // stored.
  bool store_qos0 = false;
};

// What the bounds count for one message: its topic, payload and properties, plus a fixed overhead (on disk
// the record's header and fields, in memory the message object).
inline std::size_t stored_cost(const message& m) noexcept {
  const auto& p = m.properties;
  std::size_t properties = 0;
  if (p.content_type) properties += p.content_type->size();
  if (p.response_topic) properties += p.response_topic->size();
  if (p.correlation_data) properties += p.correlation_data->size();
  for (const auto& [name, value] : p.user_properties) properties += name.size() + value.size() + 4;
  return 64 + m.topic.size() + m.payload.size() + properties;
}

// A granted subscription, kept so that it can be restored when the broker loses the session.
struct stored_subscription {
  coromqtt::subscription subscription;
  std::optional<std::uint32_t> subscription_identifier;  // MQTT 5
  friend bool operator==(const stored_subscription&, const stored_subscription&) = default;
};

// One change of the session, in the order the client made it. Messages are named by `seq`, increasing from 1
// in the order they were admitted (the order they are sent in).
struct store_record {
  enum class type : std::uint8_t {
    session,            // the broker keeps a session for `client_id` (the next client resumes it)
    session_cleared,    // the broker has no session any more: forget incoming identifiers, and every message
                        // goes back to queued (its packet identifier is void)
    message_added,      // `message` admitted as `seq` (cost `bytes`)
    message_sent,       // `seq` was written as a PUBLISH with `packet_id` (awaiting PUBACK / PUBREC)
    message_released,   // `seq` had PUBREC: PUBREL is owed, then PUBCOMP awaited
    message_done,       // `seq` is finished (acknowledged, refused, cancelled, dropped, or a QoS 0 written):
                        // forget it; `bytes` is its cost
    incoming_received,  // an incoming QoS 2 PUBLISH with `packet_id` was received and answered with PUBREC
    incoming_released,  // its PUBREL came: the identifier is free again
    subscriptions,      // the whole list of granted subscriptions is now `subscriptions`
  };
  type what = type::message_added;
  std::uint64_t seq = 0;
  std::uint16_t packet_id = 0;
  std::size_t bytes = 0;
  coromqtt::message message;                       // message_added
  std::string client_id;                           // session
  std::vector<stored_subscription> subscriptions;  // subscriptions
};

// A message read back from the store.
struct stored_message {
  std::uint64_t seq = 0;
  coromqtt::message message;
};

// Where a message stands in its QoS flow.
enum class stored_phase : std::uint8_t {
  sent,      // PUBLISH written with packet_id: retransmit it with DUP set
  released,  // QoS 2 after PUBREC: send PUBREL again
};

struct stored_flight {
  std::uint64_t seq = 0;
  std::uint16_t packet_id = 0;
  stored_phase phase = stored_phase::sent;
  friend bool operator==(const stored_flight&, const stored_flight&) = default;
};

// What open() found: the state after the last record the store kept.
struct recovered_session {
  bool session_established = false;  // a `session` record came last, not session_cleared: resume it
  std::string client_id;
  std::vector<stored_subscription> subscriptions;
  std::vector<std::uint16_t> incoming;  // incoming QoS 2 identifiers between PUBREC and PUBREL, ascending
  std::vector<stored_flight> flights;   // messages with a packet identifier, ascending seq
  std::uint64_t last_seq = 0;           // the highest seq ever added (0: none); the next client continues after
  std::size_t messages = 0;             // live messages (in flight and queued)
  std::size_t bytes = 0;                // their stored_cost() total
  std::size_t damaged_records = 0;      // records found corrupt and skipped (a torn tail is not counted)
};

// The interface of a store. The client calls it from one thread of its own at a time (never its strand, so a
// call may block on I/O): open() first, then write() and read_messages() in any order, close() last.
class session_store {
 public:
  virtual ~session_store() = default;

  // The bounds the client enforces for this store.
  virtual store_limits limits() const = 0;

  // Takes the store for one client and recovers its state. Errors: error::store_locked when another live
  // client holds it, error::store_failed (or the system's error) when it cannot be read or created.
  virtual error_code open(recovered_session& out) = 0;

  // Applies the records, in order. Returns once they are as durable as the store promises (file store:
  // written to the file, and with fsync_batch flushed to the disk). An error leaves the store as it was
  // before the batch or with a prefix of it applied; the client writes the whole batch again.
  virtual error_code write(std::span<const store_record> records) = 0;

  // Appends to `out` the live messages with after < seq <= upto, ascending, until `max_count` messages or
  // `max_bytes` of stored_cost() (at least one message when there is one). Returns the number appended.
  // Messages the client saw as damaged are skipped (and counted in recovered_session::damaged_records of the
  // next open()).
  virtual std::size_t read_messages(std::uint64_t after, std::uint64_t upto, std::size_t max_count,
                                    std::size_t max_bytes, std::vector<stored_message>& out) = 0;

  // Gives the store back (the lock file is released). The client calls it once, when it is destroyed.
  virtual void close() noexcept = 0;
};

// --- The built-in stores -----------------------------------------------------------------------------------

// In memory: survives the client object (a new client on the same store resumes), not the process.
std::shared_ptr<session_store> memory_store(store_limits limits = {});

enum class store_durability {
  // One fsync covers every record written since the previous one (group commit); nothing a record protects
  // is sent to the broker, and no QoS 2 message is delivered, before it. Survives a crash of the process
  // and of the machine (power loss), as far as the disk honours fsync.
  fsync_batch,
  // Records are written to the file (the operating system's page cache) before what depends on them is
  // sent, never fsynced: survives the death of the process (kill -9, OOM), not of the machine.
  no_fsync,
};

struct file_store_options {
  store_durability durability = store_durability::fsync_batch;
  store_limits limits = {};
  // The log is a series of files of about this size; a file is deleted once every message in it is done.
  std::size_t segment_bytes = 16 * 1024 * 1024;
};

// An append-only log of checksummed records in `directory` (created when missing), with a lock file that
// keeps a second live client out. See docs/architecture.md ("The session store") for the format.
std::shared_ptr<session_store> file_store(std::filesystem::path directory, file_store_options options = {});

}  // namespace coromqtt
