// One function per kind of transport, each making a new stream and performing every step of the connection
// attempt on it; connect_transport picks one. Internal to lib/transport.
#pragma once

#include "transport/transport.hpp"

#include <coromqtt/error.hpp>

#include <memory>
#include <string>

namespace coromqtt::detail {

// The contract of each is connect_transport's (transport.hpp), with `diagnostic` always present.
asio::awaitable<std::unique_ptr<transport>> connect_tcp(const asio::any_io_executor& executor,
                                                        const endpoint& where,
                                                        const transport_options& options, error_code& ec,
                                                        std::string& diagnostic);

asio::awaitable<std::unique_ptr<transport>> connect_unix(const asio::any_io_executor& executor,
                                                         const endpoint& where,
                                                         const transport_options& options, error_code& ec,
                                                         std::string& diagnostic);

// Fails with error::transport_not_available when the build has no TLS.
asio::awaitable<std::unique_ptr<transport>> connect_tls(const asio::any_io_executor& executor,
                                                        const endpoint& where,
                                                        const transport_options& options, error_code& ec,
                                                        std::string& diagnostic);

// WebSocket, and secure WebSocket (the TLS steps first). Fails with error::transport_not_available when the
// build has no WebSocket, or no TLS for a secure one.
asio::awaitable<std::unique_ptr<transport>> connect_websocket(const asio::any_io_executor& executor,
                                                              const endpoint& where,
                                                              const transport_options& options,
                                                              error_code& ec, std::string& diagnostic);

}  // namespace coromqtt::detail
