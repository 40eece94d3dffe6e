// Reading the small files that credentials live in (tokens, keys).
#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <filesystem>
#include <string>

namespace coromqtt::detail {

// Reads at most `limit` + 1 bytes of `file`: a result longer than `limit` means the file is too large, and
// a huge or endless file (a device, a FIFO fed forever) costs no more than that.
// Errors: the system's (errc::no_such_file_or_directory, errc::permission_denied, errc::is_a_directory...).
std::string read_small_file(const std::filesystem::path& file, std::size_t limit,
                            boost::system::error_code& ec);

}  // namespace coromqtt::detail
