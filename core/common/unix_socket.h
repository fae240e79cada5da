// Unix stream sockets with errors that name the path.
#pragma once

#include <string>

namespace smolvm {

// Binds and listens (removing a stale socket file first); the socket file
// gets `mode`. Returns a non-blocking, close-on-exec fd.
int listen_unix(const std::string& path, unsigned mode);
// Connects, retrying while the socket does not exist yet or refuses, until
// timeout_ms passes. Returns a blocking, close-on-exec fd; throws on failure.
int connect_unix(const std::string& path, int timeout_ms);

}  // namespace smolvm
