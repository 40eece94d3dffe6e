// The client's link to its session store: one thread of its own runs the store's calls (so that a write that
// waits for fsync never holds the strand), in the order the strand asked for them; the answers come back to the
// strand, where the session takes them.
//
//   strand: session records --take--> [batch] --queue--> store thread: store.write(batch) (fsync)
//           session.on_store_written() <--post------------/
//   strand: session wants a load -----------> store thread: store.read_messages(...)
//           session.on_store_loaded()  <--post------------/
//
// One write and one load at most are outstanding; the thread runs them in the order queued, so a load always
// sees the writes queued before it.
#pragma once

#include "session/session.hpp"

#include <coromqtt/store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace coromqtt::detail {

class store_link {
 public:
  using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

  store_link(strand_type strand, std::shared_ptr<session_store> store, session& s);
  store_link(const store_link&) = delete;
  store_link& operator=(const store_link&) = delete;
  ~store_link();

  bool attached() const noexcept { return store_ != nullptr; }

  // On the client's construction: takes the store (error::store_locked when another client has it), restores the
  // session and reads back its messages in flight. Throws mqtt_error. Starts the store's thread.
  void open();

  // Once, on the strand: `owner` keeps the client alive while an answer is delivered; `progress` runs after
  // each answer was given to the session.
  bool bound() const noexcept { return bound_; }
  void bind(std::weak_ptr<void> owner, std::function<void()> progress);
  // On the strand, after the session moved: hands new records to the store, asks for the loads it wants.
  void pump();

  // Writes what the session still has for the store, closes the store (its lock is released) and ends the
  // thread; answers not delivered yet are dropped. Blocks until then (at most one fsync). Idempotent.
  void close();

 private:
  struct task {
    bool is_write = false;
    std::vector<store_record> batch;
    session::store_load load;
  };
  void run_thread();
  void run(task&);
  void enqueue(task t);

  strand_type strand_;
  std::shared_ptr<session_store> store_;
  session& session_;
  std::weak_ptr<void> owner_;
  std::function<void()> progress_;
  bool opened_ = false;
  bool bound_ = false;
  bool write_outstanding_ = false;
  bool load_outstanding_ = false;
  std::vector<store_record> spare_batch_;  // capacity reused across batches

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<task> tasks_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace coromqtt::detail
