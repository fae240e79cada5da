// Real Unix socket servers in the test's own process, for the parts that
// speak to a peer over a socket (the Firecracker API, the supervisor).
#pragma once

#include <string>

namespace smolvm::test {

// A listening Unix socket at path (-1 on failure, with the test failed).
int listen_unix(const std::string& path);

// Reads until `delim` has arrived (included in the result) or the peer
// closes; the bytes after delim in the same read are returned in rest.
std::string read_until(int fd, const std::string& delim, std::string* rest = nullptr);

bool write_all(int fd, const std::string& data);

}  // namespace smolvm::test
