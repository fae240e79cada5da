// Small blocking/non-blocking fd helpers used by every protocol endpoint.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smolvm::proto {

// Writes all bytes, retrying on EINTR and waiting (poll) on EAGAIN.
// Returns false with errno set on failure.
bool write_all(int fd, std::string_view data);

// Writes as much as the fd takes now without blocking. Returns bytes
// written, or -1 with errno set on a real error (EAGAIN is 0).
long write_some(int fd, std::string_view data);

// Reads what is available (up to cap). Returns bytes read, 0 at EOF, -1 with
// errno set on error; EINTR is retried.
long read_some(int fd, void* buf, size_t cap);

bool set_nonblocking(int fd, bool on);
bool set_cloexec(int fd);

}  // namespace smolvm::proto
