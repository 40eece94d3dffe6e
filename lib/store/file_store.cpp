// The file store: an append-only log of checksummed records (record_codec.hpp) in a series of segment files.
//
//   <dir>/LOCK                                      flock()ed by the live client (the kernel drops it at death)
//   <dir>/segment-<index>-<first seq>.log           [checkpoint][record][record]...
//
// Every segment starts with a checkpoint: the small state (store_state) as it was when the segment began, so
// recovery reads the newest segment only (and the names of the others), however large the backlog. Message
// bodies stay where they were first written; a segment is deleted once no live message was added in it (the
// newest two are always kept, so that a damaged newest checkpoint falls back on the one before).
//
// Recovery takes the newest segment whose checkpoint is sound, replays its records up to the first that is
// torn or fails its checksum, and cuts the file there: the state is the longest sound prefix of the log.
#include "store/record_codec.hpp"
#include "store/store_state.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace coromqtt {
namespace {

namespace fs = std::filesystem;
using detail::frame_check;

error_code system_error_code(int e = errno) { return {e, boost::system::system_category()}; }

struct segment {
  std::uint64_t index = 0;
  std::uint64_t first_seq = 0;  // the first message seq that can be in it (last seq at its start + 1)
  fs::path path;
};

// Reads a segment's records in order through a buffer (never the whole file at once).
class segment_reader {
 public:
  bool open(const fs::path& path) {
    close();
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    offset_ = begin_ = end_ = 0;
    return fd_ >= 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  ~segment_reader() { close(); }

  // The next record: complete, damaged, or need_more at the end of the file (a torn tail or nothing).
  detail::frame next() {
    for (;;) {
      auto f = detail::read_record_frame({buffer_.data() + begin_, end_ - begin_});
      if (f.check != frame_check::need_more) {
        if (f.check == frame_check::complete) {
          record_offset_ = offset_;
          begin_ += f.size;
          offset_ += f.size;
        }
        return f;
      }
      if (!fill(f.size)) return f;
    }
  }
  std::uint64_t offset() const noexcept { return offset_; }             // after the last complete record
  std::uint64_t record_offset() const noexcept { return record_offset_; }  // where the last one began
  // Back to the start of the last record returned (it will be returned again).
  void unread() {
    begin_ -= static_cast<std::size_t>(offset_ - record_offset_);
    offset_ = record_offset_;
  }

 private:
  bool fill(std::size_t wanted) {
    if (begin_ > 0) {
      std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
                buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
      end_ -= begin_;
      begin_ = 0;
    }
    const std::size_t size = std::max<std::size_t>({256 * 1024, wanted, end_ + 4096});
    if (buffer_.size() < size) buffer_.resize(size);
    if (buffer_.size() > 4 * 1024 * 1024 && wanted < 256 * 1024 && end_ < 256 * 1024) {
      buffer_.resize(256 * 1024);  // after one huge record, give the memory back
      buffer_.shrink_to_fit();
    }
    const auto n = ::pread(fd_, buffer_.data() + end_, buffer_.size() - end_,
                           static_cast<off_t>(offset_ + (end_ - begin_)));
    if (n <= 0) return false;
    end_ += static_cast<std::size_t>(n);
    return true;
  }

  int fd_ = -1;
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint64_t offset_ = 0;  // file offset of buffer_[begin_]
  std::uint64_t record_offset_ = 0;
};

class file_session_store final : public session_store {
 public:
  file_session_store(fs::path directory, file_store_options options)
      : directory_{std::move(directory)}, options_{options} {}
  ~file_session_store() override { close(); }

  store_limits limits() const override { return options_.limits; }

  error_code open(recovered_session& out) override {
    if (lock_fd_ >= 0) return make_error_code(error::store_locked);
    std::error_code fs_error;
    fs::create_directories(directory_, fs_error);
    if (fs_error) return system_error_code(fs_error.value());
    lock_fd_ = ::open((directory_ / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return system_error_code();
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      ::close(lock_fd_);
      lock_fd_ = -1;
      return e == EWOULDBLOCK ? make_error_code(error::store_locked) : system_error_code(e);
    }
    const auto pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(lock_fd_, 0) == 0) (void)!::pwrite(lock_fd_, pid.data(), pid.size(), 0);

    if (auto ec = recover()) {
      close();
      return ec;
    }
    out = state_.snapshot();
    out.damaged_records = damaged_;
    return {};
  }

  error_code write(std::span<const store_record> records) override {
    buffer_.clear();
    for (const auto& r : records) detail::encode_record(r, buffer_);
    if (auto ec = append(buffer_)) return ec;
    for (const auto& r : records) state_.apply(r);
    // The batch is durable; a roll that fails (no space for the new segment) is tried again after the next.
    if (tail_size_ >= options_.segment_bytes) (void)roll();
    return {};
  }

  std::size_t read_messages(std::uint64_t after, std::uint64_t upto, std::size_t max_count, std::size_t max_bytes,
                            std::vector<stored_message>& out) override {
    std::size_t count = 0;
    std::size_t bytes = 0;
    const auto first = state_.live().next_after(after);
    if (first == 0 || first > upto) return 0;
    if (!cursor_valid_ || after != cursor_after_) seek(first);
    std::uint64_t previous = after;
    bool read_to_upto = false;  // every record up to `upto` was seen (so live ones not found are gone)
    while (count < max_count && (count == 0 || bytes < max_bytes)) {
      auto f = reader_.next();
      if (f.check != frame_check::complete) {
        // The end of this segment: sound (need_more at its end), torn or damaged. Newer ones go on.
        if (f.check == frame_check::damaged) ++damaged_;
        if (cursor_segment_ + 1 >= segments_.size()) {  // the tail: nothing after it yet
          read_to_upto = true;
          break;
        }
        if (!reader_.open(segments_[++cursor_segment_].path)) {
          cursor_valid_ = false;
          return count;  // try again next time; nothing is forgotten for a file that would not open
        }
        continue;
      }
      if (f.type != static_cast<std::uint8_t>(store_record::type::message_added)) continue;
      std::uint64_t seq = 0;
      if (!detail::peek_added_seq(f.payload, seq) || seq <= previous) continue;
      if (seq > upto) {
        reader_.unread();
        read_to_upto = true;
        break;
      }
      forget_missing(previous, seq);  // live messages the log no longer has (a deleted or damaged segment)
      previous = seq;
      if (!state_.live().contains(seq)) continue;
      store_record r;
      if (!detail::decode_record(f.type, f.payload, r)) {
        ++damaged_;
        continue;
      }
      bytes += stored_cost(r.message);
      out.push_back({seq, std::move(r.message)});
      ++count;
    }
    if (read_to_upto) forget_missing(previous, upto + 1);
    cursor_after_ = previous;
    cursor_valid_ = true;
    return count;
  }

  void close() noexcept override {
    reader_.close();
    cursor_valid_ = false;
    if (tail_fd_ >= 0) ::close(tail_fd_);
    tail_fd_ = -1;
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
    lock_fd_ = -1;
  }

 private:
  bool syncing() const noexcept { return options_.durability == store_durability::fsync_batch; }

  fs::path segment_path(std::uint64_t index, std::uint64_t first_seq) const {
    char name[64];
    std::snprintf(name, sizeof name, "segment-%010llu-%020llu.log", static_cast<unsigned long long>(index),
                  static_cast<unsigned long long>(first_seq));
    return directory_ / name;
  }

  void list_segments() {
    segments_.clear();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator{directory_, ec}) {
      unsigned long long index = 0;
      unsigned long long first = 0;
      char tail[8] = {};
      const auto name = entry.path().filename().string();
      if (std::sscanf(name.c_str(), "segment-%llu-%llu.%7s", &index, &first, tail) == 3 &&
          std::string_view{tail} == "log")
        segments_.push_back({index, first, entry.path()});
    }
    std::sort(segments_.begin(), segments_.end(), [](const segment& a, const segment& b) { return a.index < b.index; });
  }

  void sync_directory() {
    if (!syncing()) return;
    const int fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
  }

  // Sets aside a segment that cannot be trusted: kept for inspection, never read again.
  void set_aside(const segment& s) {
    std::error_code ec;
    fs::rename(s.path, fs::path{s.path}.replace_extension(".damaged"), ec);
  }

  error_code recover() {
    list_segments();
    state_ = {};
    damaged_ = 0;
    // The newest segment with a sound checkpoint; the ones after it are set aside.
    while (!segments_.empty()) {
      if (replay(segments_.back())) break;
      ++damaged_;
      set_aside(segments_.back());
      segments_.pop_back();
    }
    if (segments_.empty()) return start_segment(1);
    const auto& tail = segments_.back();
    tail_fd_ = ::open(tail.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (tail_fd_ < 0) return system_error_code();
    // Cut the torn or damaged end, so that what is appended follows sound records.
    if (::ftruncate(tail_fd_, static_cast<off_t>(tail_size_)) != 0) return system_error_code();
    if (syncing()) ::fdatasync(tail_fd_);
    return {};
  }

  // Loads a segment's checkpoint and replays its records; false when the checkpoint is not sound.
  bool replay(const segment& s) {
    segment_reader reader;
    if (!reader.open(s.path)) return false;
    auto f = reader.next();
    detail::store_state::image image;
    if (f.check != frame_check::complete || f.type != detail::checkpoint_type ||
        !detail::decode_checkpoint(f.payload, image))
      return false;
    state_.from_image(std::move(image));
    for (;;) {
      f = reader.next();
      if (f.check != frame_check::complete) {
        if (f.check == frame_check::damaged) ++damaged_;
        break;
      }
      store_record r;
      if (!detail::decode_record(f.type, f.payload, r)) {
        ++damaged_;
        reader.unread();
        break;
      }
      state_.apply(r);
    }
    tail_size_ = reader.offset();
    return true;
  }

  error_code append(const std::vector<std::uint8_t>& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const auto n = ::pwrite(tail_fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(tail_size_ + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const auto ec = system_error_code(n < 0 ? errno : ENOSPC);
        // No torn record may stay in the middle of the log: cut back to before this batch.
        (void)!::ftruncate(tail_fd_, static_cast<off_t>(tail_size_));
        return ec;
      }
      done += static_cast<std::size_t>(n);
    }
    if (syncing() && ::fdatasync(tail_fd_) != 0) {
      const auto ec = system_error_code();
      (void)!::ftruncate(tail_fd_, static_cast<off_t>(tail_size_));
      return ec;
    }
    tail_size_ += bytes.size();
    return {};
  }

  // A new segment that starts with the checkpoint of the current state.
  error_code start_segment(std::uint64_t index) {
    const segment s{index, state_.last_seq() + 1, segment_path(index, state_.last_seq() + 1)};
    const int fd = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return system_error_code();
    const auto previous_fd = tail_fd_;
    const auto previous_size = tail_size_;
    tail_fd_ = fd;
    tail_size_ = 0;
    buffer_.clear();
    detail::encode_checkpoint(state_.to_image(), buffer_);
    if (auto ec = append(buffer_)) {
      ::close(fd);
      ::unlink(s.path.c_str());
      tail_fd_ = previous_fd;
      tail_size_ = previous_size;
      return ec;
    }
    sync_directory();
    if (previous_fd >= 0) ::close(previous_fd);
    segments_.push_back(s);
    return {};
  }

  error_code roll() {
    if (auto ec = start_segment(segments_.back().index + 1)) return ec;
    // Segments in which no live message was added go, except the newest two.
    for (std::size_t i = 0; i + 2 < segments_.size();) {
      const auto from = segments_[i].first_seq;
      const auto to = segments_[i + 1].first_seq - 1;
      if (to >= from && state_.live().any_in(from, to)) {
        ++i;
        continue;
      }
      ::unlink(segments_[i].path.c_str());
      segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i));
      if (cursor_valid_) {
        if (cursor_segment_ == i)
          cursor_valid_ = false;
        else if (cursor_segment_ > i)
          --cursor_segment_;
      }
    }
    return {};
  }

  // Positions the reader at the segment that holds `seq` (or the first one after where it would be).
  void seek(std::uint64_t seq) {
    std::size_t i = 0;
    while (i + 1 < segments_.size() && segments_[i + 1].first_seq <= seq) ++i;
    cursor_segment_ = i;
    cursor_valid_ = reader_.open(segments_[i].path);
  }

  // Live messages in (after, before) that reading passed without finding: they are gone (a segment deleted
  // or damaged under us); forget them so that they stop counting against the bounds.
  void forget_missing(std::uint64_t after, std::uint64_t before) {
    for (auto seq = state_.live().next_after(after); seq != 0 && seq < before; seq = state_.live().next_after(seq)) {
      store_record done;
      done.what = store_record::type::message_done;
      done.seq = seq;
      state_.apply(done);
      ++damaged_;
    }
  }

  fs::path directory_;
  file_store_options options_;
  int lock_fd_ = -1;
  int tail_fd_ = -1;
  std::uint64_t tail_size_ = 0;
  std::vector<segment> segments_;
  detail::store_state state_;
  std::vector<std::uint8_t> buffer_;
  std::size_t damaged_ = 0;
  segment_reader reader_;
  bool cursor_valid_ = false;
  std::size_t cursor_segment_ = 0;
  std::uint64_t cursor_after_ = 0;
};

}  // namespace

std::shared_ptr<session_store> file_store(std::filesystem::path directory, file_store_options options) {
  return std::make_shared<file_session_store>(std::move(directory), options);
}

}  // namespace coromqtt
