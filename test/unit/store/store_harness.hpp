// What the store tests share: record builders, a temporary directory, and the two stores under one interface
// (a factory that makes a store and makes it again "after a restart": the same object for the memory store,
// a new one on the same directory for the file store).
#pragma once

#include <coromqtt/store.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace coromqtt::test {

namespace fs = std::filesystem;

class temporary_directory {
 public:
  temporary_directory() {
    std::random_device random;
    path_ = fs::temp_directory_path() /
            ("coromqtt-store-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~temporary_directory() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temporary_directory(const temporary_directory&) = delete;
  temporary_directory& operator=(const temporary_directory&) = delete;
  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

inline message make_message(std::string topic, std::string payload, qos q = qos::at_least_once) {
  message m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  m.qos = q;
  return m;
}

inline store_record added(std::uint64_t seq, message m) {
  store_record r;
  r.what = store_record::type::message_added;
  r.seq = seq;
  r.bytes = stored_cost(m);
  r.message = std::move(m);
  return r;
}
inline store_record simple(store_record::type what, std::uint64_t seq = 0, std::uint16_t id = 0, std::size_t bytes = 0) {
  store_record r;
  r.what = what;
  r.seq = seq;
  r.packet_id = id;
  r.bytes = bytes;
  return r;
}
inline store_record sent(std::uint64_t seq, std::uint16_t id) { return simple(store_record::type::message_sent, seq, id); }
inline store_record released(std::uint64_t seq) { return simple(store_record::type::message_released, seq); }
inline store_record done(std::uint64_t seq, const message& m) {
  return simple(store_record::type::message_done, seq, 0, stored_cost(m));
}
inline store_record session_record(std::string id) {
  store_record r;
  r.what = store_record::type::session;
  r.client_id = std::move(id);
  return r;
}

// Every live message, read back in chunks of `chunk`.
inline std::vector<stored_message> read_all(session_store& s, std::size_t chunk = 1000) {
  std::vector<stored_message> all;
  std::uint64_t after = 0;
  for (;;) {
    const auto n = s.read_messages(after, UINT64_MAX, chunk, SIZE_MAX, all);
    if (n == 0) break;
    after = all.back().seq;
  }
  return all;
}

struct memory_factory {
  static constexpr const char* name = "memory store";
  std::shared_ptr<session_store> store = memory_store();
  std::shared_ptr<session_store> make() { return store; }
  std::shared_ptr<session_store> restart() { return store; }
};

struct file_factory {
  static constexpr const char* name = "file store";
  temporary_directory directory;
  file_store_options options{.durability = store_durability::no_fsync, .limits = {}, .segment_bytes = 64 * 1024};
  std::shared_ptr<session_store> make() { return file_store(directory.path() / "store", options); }
  std::shared_ptr<session_store> restart() { return make(); }
};

}  // namespace coromqtt::test
