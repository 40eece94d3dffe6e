// Writes the fuzzer's seed corpus: valid packets of every type in both versions, one per file, each file
// starting with the version byte the fuzzer reads (0 for 3.1.1, 1 for 5), plus a few files holding several
// packets back to back. Usage: make_fuzz_corpus DIRECTORY
#include "../unit/protocol/random_packets.hpp"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace coromqtt::protocol;

namespace {

std::vector<std::uint8_t> encoded(const packet& p, protocol_version version) {
  std::vector<std::uint8_t> out(encoded_size(p, version).size);
  encode(p, version, out);
  return out;
}

void write(const std::string& path, std::uint8_t version_byte, const std::vector<std::uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.put(static_cast<char>(version_byte));
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
    return 2;
  }
  const std::string directory = argv[1];
  test::packet_generator generator{20261125};
  int files = 0;
  for (const auto version : {protocol_version::v3_1_1, protocol_version::v5}) {
    const bool v5 = version == protocol_version::v5;
    std::vector<std::uint8_t> stream;
    for (const packet_type type : test::all_packet_types) {
      if (type == packet_type::auth && !v5) continue;
      for (int i = 0; i < 4; ++i) {
        generator.clear();
        const packet p = generator.make(type, version);
        std::vector<std::uint8_t> bytes = encoded(p, version);
        if (bytes.size() > 2048) continue;  // keep the seeds small; the fuzzer grows them
        std::string name(to_string(type));
        for (char& c : name) c = static_cast<char>(c - 'A' + 'a');
        write(directory + "/" + (v5 ? "v5-" : "v311-") + name + "-" + std::to_string(i), v5 ? 1 : 0, bytes);
        ++files;
        if (i == 0) stream.insert(stream.end(), bytes.begin(), bytes.end());
      }
    }
    write(directory + "/" + (v5 ? "v5" : "v311") + "-stream", v5 ? 1 : 0, stream);
    ++files;
  }
  std::printf("%d files in %s\n", files, directory.c_str());
  return 0;
}
