#include "transport/connectors.hpp"

#include <coromqtt/error.hpp>

#include <boost/system/system_error.hpp>

namespace coromqtt::detail {

asio::awaitable<std::unique_ptr<transport>> connect_transport(const asio::any_io_executor& executor,
                                                              const endpoint& where,
                                                              const transport_options& options,
                                                              error_code& ec, std::string* diagnostic) {
  std::string unused;
  std::string& note = diagnostic != nullptr ? *diagnostic : unused;
  note.clear();
  if (where.host.empty()) {
    ec = error::invalid_url;
    note = "the endpoint has no host";
    co_return nullptr;
  }
  bool cancelled = false;
  std::unique_ptr<transport> connected;
  try {
    switch (where.kind) {
      case transport_kind::tcp:
        connected = co_await connect_tcp(executor, where, options, ec, note);
        break;
      case transport_kind::tls:
        connected = co_await connect_tls(executor, where, options, ec, note);
        break;
      case transport_kind::websocket:
      case transport_kind::secure_websocket:
        connected = co_await connect_websocket(executor, where, options, ec, note);
        break;
      case transport_kind::unix_socket:
        connected = co_await connect_unix(executor, where, options, ec, note);
        break;
    }
  } catch (const boost::system::system_error& e) {
    // Asio throws operation_aborted at the next co_await once our caller is cancelled (throw_if_cancelled is
    // the caller's setting, on by default); this function reports errors as values.
    if (e.code() != asio::error::operation_aborted) throw;
    cancelled = true;
  }
  if (cancelled) {
    ec = asio::error::operation_aborted;
    note = "cancelled";
    co_return nullptr;
  }
  co_return connected;
}

}  // namespace coromqtt::detail
