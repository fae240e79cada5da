// The runtime's control connection to a VM's supervisor (protocol/client.h):
// VM_STOP, VM_PAUSE, VM_RESUME, and the guest files the executor hooks read
// at boot. Command traffic goes through the executor plugin instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/messages.h"

namespace smolvm {

// How long a snapshot may take (writing a large guest's memory and copying
// its disk on a busy host), and so how long a call waits for one to end.
inline constexpr uint32_t kSnapshotAnswerMs = 300000;

// Asks the supervisor to stop the VM within timeout_ms. Returns false if
// the supervisor could not be reached or refused (the caller then falls back
// to killing the recorded processes).
bool request_stop(const std::string& socket_path, const std::string& token, uint32_t timeout_ms,
                  bool force, std::string& error);

// Asks the supervisor to pause (or resume) the VM's vCPUs and waits for its
// answer. 0, or the supervisor's smolvm_status (ESTATE, EUNSUPPORTED, ...)
// with its message in error; EIO when it could not be reached.
int request_pause(const std::string& socket_path, const std::string& token, bool pause,
                  std::string& error);

// Asks the supervisor to save the VM into dir (an empty folder) and waits
// for it (proto::VmSnapshot): 0 with what it wrote, or its status with its
// message in error.
int request_snapshot(const std::string& socket_path, const std::string& token,
                     const std::string& dir, bool stop, proto::VmSnapshotted& done,
                     std::string& error);

// Reads the guest file at path through the VM's supervisor, which forwards
// it to the guest agent over the VMM's own channel (trusted, never the
// network). At most max_bytes: a longer file fails with SMOLVM_EINVAL
// naming both sizes, and the whole read with SMOLVM_ETIMEOUT after
// timeout_ms. Throws Error; a missing file is SMOLVM_ENOTFOUND.
std::string read_guest_file(const std::string& socket_path, const std::string& token,
                            const std::string& path, size_t max_bytes, uint32_t timeout_ms);

}  // namespace smolvm
