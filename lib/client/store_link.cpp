#include "client/store_link.hpp"

#include <coromqtt/client.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

namespace coromqtt::detail {

namespace asio = boost::asio;

store_link::store_link(strand_type strand, std::shared_ptr<session_store> store, session& s)
    : strand_{std::move(strand)}, store_{std::move(store)}, session_{s} {}

store_link::~store_link() { close(); }

void store_link::open() {
  if (!store_) return;
  recovered_session recovered;
  if (auto ec = store_->open(recovered)) throw mqtt_error(ec);
  opened_ = true;
  session_.attach_store(store_->limits(), recovered);
  // The messages that were in flight are needed before the first CONNECT: read them here, on the caller's
  // thread, before the client runs.
  while (!session_.store_ready()) {
    auto load = session_.take_store_load();
    if (!load) break;
    std::vector<stored_message> loaded;
    store_->read_messages(load->after, load->upto, load->max_count, load->max_bytes, loaded);
    session_.on_store_loaded(loaded, *load, clock::now());
  }
  thread_ = std::thread{[this] { run_thread(); }};
}

void store_link::bind(std::weak_ptr<void> owner, std::function<void()> progress) {
  owner_ = std::move(owner);
  progress_ = std::move(progress);
  bound_ = true;
}

void store_link::pump() {
  if (!opened_ || !bound_) return;
  if (!write_outstanding_ && session_.has_store_records()) {
    task t;
    t.is_write = true;
    session_.take_store_records(spare_batch_);
    t.batch = std::move(spare_batch_);
    spare_batch_ = {};
    write_outstanding_ = true;
    enqueue(std::move(t));
  }
  if (!load_outstanding_) {
    if (auto load = session_.take_store_load()) {
      task t;
      t.load = *load;
      load_outstanding_ = true;
      enqueue(std::move(t));
    }
  }
}

void store_link::enqueue(task t) {
  {
    std::lock_guard lock{mutex_};
    tasks_.push_back(std::move(t));
  }
  wake_.notify_one();
}

void store_link::run_thread() {
  for (;;) {
    task t;
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and everything queued is done
      t = std::move(tasks_.front());
      tasks_.pop_front();
    }
    run(t);
  }
}

void store_link::run(task& t) {
  if (t.is_write) {
    // A failed write (disk full, I/O error) is tried again until it succeeds: until then nothing that depends
    // on it is sent, so nothing is lost; the client simply stops making progress. At shutdown it gives up.
    auto delay = std::chrono::milliseconds{10};
    for (;;) {
      if (!store_->write(t.batch)) break;
      bool stopping = false;
      {
        std::unique_lock lock{mutex_};
        stopping = stopping_;
        if (!stopping) wake_.wait_for(lock, delay, [this] { return stopping_; });
      }
      if (stopping) return;
      delay = std::min(delay * 2, std::chrono::milliseconds{1000});
    }
    asio::post(strand_, [this, owner = owner_, batch = std::move(t.batch)]() mutable {
      const auto keep = owner.lock();
      if (!keep || !opened_) return;
      write_outstanding_ = false;
      batch.clear();
      spare_batch_ = std::move(batch);
      session_.on_store_written(clock::now());
      if (progress_) progress_();
    });
    return;
  }
  std::vector<stored_message> loaded;
  store_->read_messages(t.load.after, t.load.upto, t.load.max_count, t.load.max_bytes, loaded);
  asio::post(strand_, [this, owner = owner_, load = t.load, loaded = std::move(loaded)]() mutable {
    const auto keep = owner.lock();
    if (!keep || !opened_) return;
    load_outstanding_ = false;
    session_.on_store_loaded(loaded, load, clock::now());
    if (progress_) progress_();
  });
}

void store_link::close() {
  if (!opened_) return;
  // Whatever the session recorded last (acknowledgements that arrived just before) is worth keeping: without
  // it the next client would send those messages again.
  if (session_.has_store_records()) {
    task t;
    t.is_write = true;
    session_.take_store_records(t.batch);
    enqueue(std::move(t));
  }
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  opened_ = false;
  store_->close();
}

}  // namespace coromqtt::detail
