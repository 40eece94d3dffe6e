// The file store after a crash or damage: the log cut at every byte of its last records, bytes flipped, files
// deleted. Each case recovers the longest sound prefix of what was written (compared with the memory store fed
// the same prefix), never crashes, and takes new records after it.
#include "store_harness.hpp"

#include <fstream>
#include <sstream>

using namespace coromqtt;
using namespace coromqtt::test;
using type = store_record::type;

namespace {

// A readable account of a store's state, to compare two stores.
std::string describe(session_store& s, const recovered_session& r) {
  std::ostringstream out;
  out << "established " << r.session_established << " id " << r.client_id << " subs " << r.subscriptions.size()
      << " last " << r.last_seq << " messages " << r.messages << " bytes " << r.bytes << " incoming";
  for (auto id : r.incoming) out << ' ' << id;
  out << " flights";
  for (const auto& f : r.flights) out << ' ' << f.seq << '/' << f.packet_id << '/' << static_cast<int>(f.phase);
  out << " bodies";
  for (const auto& m : read_all(s)) out << ' ' << m.seq << ':' << m.message.topic << '=' << m.message.payload;
  return out.str();
}

std::string state_of(session_store& s) {
  recovered_session r;
  REQUIRE_FALSE(s.open(r));
  auto d = describe(s, r);
  s.close();
  return d;
}

// What the memory store holds after the first `n` records.
std::string expected_after(const std::vector<store_record>& records, std::size_t n) {
  auto reference = memory_store();
  recovered_session r;
  REQUIRE_FALSE(reference->open(r));
  REQUIRE_FALSE(reference->write(std::span{records}.first(n)));
  reference->close();
  return state_of(*reference);
}

std::vector<store_record> history() {
  std::vector<store_record> h;
  h.push_back(session_record("resumable"));
  store_record subs;
  subs.what = type::subscriptions;
  subs.subscriptions.push_back({{"in/#", {qos::exactly_once, false, false, retain_handling::send_at_subscribe}}, {}});
  h.push_back(subs);
  for (std::uint64_t seq = 1; seq <= 8; ++seq)
    h.push_back(added(seq, make_message("out/" + std::to_string(seq), std::string(seq * 5, char('a' + seq)),
                                        seq % 2 ? qos::at_least_once : qos::exactly_once)));
  h.push_back(sent(1, 1));
  h.push_back(sent(2, 2));
  h.push_back(simple(type::incoming_received, 0, 77));
  h.push_back(sent(3, 3));
  h.push_back(done(1, h[2].message));
  h.push_back(released(2));
  h.push_back(simple(type::incoming_received, 0, 78));
  h.push_back(simple(type::incoming_released, 0, 77));
  h.push_back(done(2, h[3].message));
  h.push_back(sent(4, 4));
  return h;
}

fs::path only_segment(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator{dir})
    if (e.path().extension() == ".log") found.push_back(e.path());
  REQUIRE(found.size() == 1);
  return found[0];
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator{dir})
    if (e.path().extension() == ".log") found.push_back(e.path());
  std::sort(found.begin(), found.end());
  return found;
}

// Writes each record on its own, and returns the log's size after the checkpoint and after each record.
std::vector<std::uintmax_t> write_one_by_one(const fs::path& dir, const std::vector<store_record>& records,
                                             file_store_options options = {.durability = store_durability::no_fsync}) {
  auto store = file_store(dir, options);
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  std::vector<std::uintmax_t> ends{fs::file_size(only_segment(dir))};
  for (const auto& record : records) {
    REQUIRE_FALSE(store->write(std::span{&record, 1}));
    ends.push_back(fs::file_size(only_segment(dir)));
  }
  store->close();
  return ends;
}

std::vector<char> read_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}
void write_file(const fs::path& p, const std::vector<char>& bytes) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("file store: a log cut at any byte of its last records recovers the records before the cut",
          "[store][recovery]") {
  temporary_directory dir;
  const auto records = history();
  const auto ends = write_one_by_one(dir.path(), records);
  const auto segment = only_segment(dir.path());
  const auto pristine = read_file(segment);
  const std::size_t last_records = 8;
  const std::size_t first_record = records.size() - last_records;
  std::vector<std::string> expected;
  for (std::size_t n = 0; n <= records.size(); ++n) expected.push_back(expected_after(records, n));

  for (auto cut = ends[first_record]; cut <= ends.back(); ++cut) {
    CAPTURE(cut);
    auto bytes = pristine;
    bytes.resize(cut);
    write_file(segment, bytes);
    std::size_t complete = 0;  // records wholly before the cut
    while (complete < records.size() && ends[complete + 1] <= cut) ++complete;
    auto store = file_store(dir.path(), {.durability = store_durability::no_fsync});
    CHECK(state_of(*store) == expected[complete]);
    // The torn end is gone: a record written now follows the sound ones and is there after a restart.
    recovered_session r;
    REQUIRE_FALSE(store->open(r));
    const auto extra = simple(type::incoming_received, 0, 999);
    REQUIRE_FALSE(store->write(std::span{&extra, 1}));
    store->close();
    recovered_session again;
    REQUIRE_FALSE(store->open(again));
    CHECK(std::count(again.incoming.begin(), again.incoming.end(), 999) == 1);
    CHECK(again.last_seq == r.last_seq);
    store->close();
  }
}

TEST_CASE("file store: a flipped byte in the last records recovers the records before the damaged one",
          "[store][recovery]") {
  temporary_directory dir;
  const auto records = history();
  const auto ends = write_one_by_one(dir.path(), records);
  const auto segment = only_segment(dir.path());
  const auto pristine = read_file(segment);
  const std::size_t first_record = records.size() - 8;
  std::vector<std::string> expected;
  for (std::size_t n = 0; n <= records.size(); ++n) expected.push_back(expected_after(records, n));

  for (auto at = ends[first_record]; at < ends.back(); ++at) {
    CAPTURE(at);
    auto bytes = pristine;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5A);
    write_file(segment, bytes);
    std::size_t before = 0;  // records wholly before the damaged byte
    while (ends[before + 1] <= at) ++before;
    auto store = file_store(dir.path(), {.durability = store_durability::no_fsync});
    CHECK(state_of(*store) == expected[before]);
  }
}

TEST_CASE("file store: a damaged or missing newest segment falls back on the one before", "[store][recovery]") {
  temporary_directory dir;
  const file_store_options small{.durability = store_durability::no_fsync, .limits = {}, .segment_bytes = 600};
  auto store = file_store(dir.path(), small);
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  std::vector<store_record> records;
  std::size_t at_last_roll = 0;  // records written when the newest segment began
  auto newest = segments(dir.path()).back();
  const auto write = [&](store_record record) {
    records.push_back(std::move(record));
    REQUIRE_FALSE(store->write(std::span{&records.back(), 1}));
    if (segments(dir.path()).back() != newest) {  // this write rolled: the new checkpoint has all of them
      newest = segments(dir.path()).back();
      at_last_roll = records.size();
    }
  };
  std::vector<message> bodies;
  for (std::uint64_t seq = 1; seq <= 40; ++seq) {
    bodies.push_back(make_message("t", std::string(40, 'x') + std::to_string(seq)));
    write(added(seq, bodies.back()));
    if (seq > 3) write(done(seq - 3, bodies[seq - 4]));
  }
  store->close();
  const auto all = segments(dir.path());
  REQUIRE(all.size() >= 2);
  CHECK(all.size() <= 3);  // done messages' segments were deleted
  REQUIRE(at_last_roll > 0);
  const auto full = expected_after(records, records.size());
  CHECK(state_of(*file_store(dir.path(), small)) == full);

  SECTION("a flipped byte in the newest checkpoint") {
    auto bytes = read_file(all.back());
    bytes[12] = static_cast<char>(bytes[12] ^ 0xFF);
    write_file(all.back(), bytes);
    CHECK(read_file(all.back()) == bytes);
  }
  SECTION("the newest segment deleted") { CHECK(fs::remove(all.back())); }
  SECTION("the newest segment empty (the crash came as it was created)") {
    write_file(all.back(), {});
    CHECK(fs::file_size(all.back()) == 0);
  }

  const auto recovered = state_of(*file_store(dir.path(), small));
  CHECK(recovered == expected_after(records, at_last_roll));
  // And the store goes on: a new message after it.
  auto again = file_store(dir.path(), small);
  REQUIRE_FALSE(again->open(r));
  const auto next = added(r.last_seq + 1, make_message("t", "after"));
  REQUIRE_FALSE(again->write(std::span{&next, 1}));
  again->close();
  REQUIRE_FALSE(again->open(r));
  CHECK(read_all(*again).back().message.payload == "after");
  again->close();
}

TEST_CASE("file store: a deleted middle segment loses its messages only", "[store][recovery]") {
  temporary_directory dir;
  const file_store_options small{.durability = store_durability::no_fsync, .limits = {}, .segment_bytes = 1000};
  auto store = file_store(dir.path(), small);
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  std::vector<store_record> batch;
  for (std::uint64_t seq = 1; seq <= 60; ++seq) {
    batch.assign(1, added(seq, make_message("t", std::string(60, 'm') + std::to_string(seq))));
    REQUIRE_FALSE(store->write(batch));
  }
  store->close();
  auto files = segments(dir.path());
  REQUIRE(files.size() >= 4);
  unsigned long long index = 0, lost_from = 0, lost_to = 0;
  REQUIRE(std::sscanf(files[1].filename().c_str(), "segment-%llu-%llu.log", &index, &lost_from) == 2);
  REQUIRE(std::sscanf(files[2].filename().c_str(), "segment-%llu-%llu.log", &index, &lost_to) == 2);
  fs::remove(files[1]);
  REQUIRE_FALSE(store->open(r));
  CHECK(r.messages == 60);  // not known yet: the checkpoint says so
  const auto all = read_all(*store, 7);
  CHECK(all.size() == 60 - (lost_to - lost_from));
  for (const auto& m : all) CHECK((m.seq < lost_from || m.seq >= lost_to));
  store->close();
}

TEST_CASE("file store: missing, empty and foreign directories", "[store][recovery]") {
  temporary_directory dir;
  SECTION("missing: created") {
    auto store = file_store(dir.path() / "a" / "b");
    CHECK(state_of(*store) == expected_after({}, 0));
    CHECK(fs::exists(dir.path() / "a" / "b" / "LOCK"));
  }
  SECTION("files that are not segments are left alone") {
    write_file(dir.path() / "notes.txt", {'h', 'i'});
    write_file(dir.path() / "segment-x.log", {'h', 'i'});
    auto store = file_store(dir.path());
    CHECK(state_of(*store) == expected_after({}, 0));
    CHECK(fs::exists(dir.path() / "notes.txt"));
  }
  SECTION("the whole store deleted under a closed store: a fresh one") {
    write_one_by_one(dir.path() / "s", history());
    fs::remove_all(dir.path() / "s");
    CHECK(state_of(*file_store(dir.path() / "s")) == expected_after({}, 0));
  }
}

TEST_CASE("file store: acknowledged messages give their space back", "[store][recovery]") {
  temporary_directory dir;
  auto store = file_store(dir.path(), {.durability = store_durability::no_fsync, .limits = {}, .segment_bytes = 64 * 1024});
  recovered_session r;
  REQUIRE_FALSE(store->open(r));
  std::uintmax_t largest = 0;
  for (std::uint64_t seq = 1; seq <= 20'000; ++seq) {
    const auto m = make_message("t", std::string(100, 'z'));
    std::vector<store_record> batch{added(seq, m)};
    if (seq > 50) batch.push_back(done(seq - 50, m));
    REQUIRE_FALSE(store->write(batch));
    std::uintmax_t total = 0;
    if (seq % 500 == 0) {
      for (const auto& f : segments(dir.path())) total += fs::file_size(f);
      largest = std::max(largest, total);
    }
  }
  // 20,000 x ~200 bytes written (4 MB); at most three 64 KiB segments live at any time.
  CHECK(largest <= 3 * 64 * 1024 + 4096);
  CHECK(read_all(*store).size() == 50);
  store->close();
}
