#include "auth/file.hpp"

#include <cerrno>
#include <fstream>
#include <system_error>

namespace coromqtt::detail {
namespace {

boost::system::error_code last_system_error() noexcept {
  return {errno != 0 ? errno : EIO, boost::system::generic_category()};
}

}  // namespace

std::string read_small_file(const std::filesystem::path& file, std::size_t limit,
                            boost::system::error_code& ec) {
  ec.clear();
  // A directory opens fine as a stream and reads as empty: say what is wrong instead.
  std::error_code status_error;
  if (std::filesystem::is_directory(file, status_error)) {
    ec.assign(EISDIR, boost::system::generic_category());
    return {};
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ec = last_system_error();
    return {};
  }
  std::string content(limit + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) {
    ec = last_system_error();
    return {};
  }
  content.resize(static_cast<std::size_t>(in.gcount()));
  return content;
}

}  // namespace coromqtt::detail
