// The memory store: the session kept in this process's memory, so that a new client on the same store object
// resumes what the last one left (a hand-over between client objects, and the reference implementation the
// conformance test compares the file store with).
#include "store/store_state.hpp"

#include <map>
#include <mutex>

namespace coromqtt {
namespace {

class memory_session_store final : public session_store {
 public:
  explicit memory_session_store(store_limits limits) : limits_{limits} {}

  store_limits limits() const override { return limits_; }

  error_code open(recovered_session& out) override {
    std::lock_guard lock{mutex_};
    if (open_) return make_error_code(error::store_locked);
    open_ = true;
    out = state_.snapshot();
    return {};
  }

  error_code write(std::span<const store_record> records) override {
    std::lock_guard lock{mutex_};
    for (const auto& r : records) {
      if (r.what == store_record::type::message_added && r.seq > state_.last_seq())
        bodies_.emplace(r.seq, r.message);
      else if (r.what == store_record::type::message_done)
        bodies_.erase(r.seq);
      state_.apply(r);
    }
    return {};
  }

  std::size_t read_messages(std::uint64_t after, std::uint64_t upto, std::size_t max_count, std::size_t max_bytes,
                            std::vector<stored_message>& out) override {
    std::lock_guard lock{mutex_};
    std::size_t count = 0;
    std::size_t bytes = 0;
    for (auto it = bodies_.upper_bound(after); it != bodies_.end() && it->first <= upto; ++it) {
      if (count >= max_count || (count > 0 && bytes >= max_bytes)) break;
      out.push_back({it->first, it->second});
      ++count;
      bytes += stored_cost(it->second);
    }
    return count;
  }

  void close() noexcept override {
    std::lock_guard lock{mutex_};
    open_ = false;
  }

 private:
  std::mutex mutex_;
  store_limits limits_;
  bool open_ = false;
  detail::store_state state_;
  std::map<std::uint64_t, message> bodies_;
};

}  // namespace

std::shared_ptr<session_store> memory_store(store_limits limits) {
  return std::make_shared<memory_session_store>(limits);
}

}  // namespace coromqtt
