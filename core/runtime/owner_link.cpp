#include "core/runtime/owner_link.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "core/common/error.h"

namespace smolvm {
namespace {

std::mutex g_mutex;
// Never destroyed: a static destructor at exit must not close the write
// ends before the process is really gone (the kernel does that).
std::map<std::string, int>& links() {
  static auto* m = new std::map<std::string, int>();
  return *m;
}

std::string key(const std::string& state_dir, const std::string& vm_id) {
  return state_dir + "/" + vm_id;
}

}  // namespace

int owner_link_open(const std::string& state_dir, const std::string& vm_id) {
  // A socket pair, not a pipe: send(MSG_NOSIGNAL) can tell a supervisor
  // that is gone without raising SIGPIPE in the caller's process.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    fail_errno(SMOLVM_EIO, "socketpair for the VM's owner link");
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  auto [it, inserted] = links().emplace(key(state_dir, vm_id), fds[1]);
  if (!inserted) {
    ::close(it->second);  // its supervisor is gone: start needs a stopped VM
    it->second = fds[1];
  }
  return fds[0];
}

void owner_link_close(const std::string& state_dir, const std::string& vm_id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = links().find(key(state_dir, vm_id));
  if (it == links().end()) return;
  ::close(it->second);
  links().erase(it);
}

bool owner_link_detach(const std::string& state_dir, const std::string& vm_id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = links().find(key(state_dir, vm_id));
  if (it == links().end()) return false;
  // The buffer has room for one byte; if the supervisor is gone (EPIPE)
  // there is nobody left to tell.
  ssize_t n;
  do {
    n = ::send(it->second, &kOwnerDetachByte, 1, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  ::close(it->second);
  links().erase(it);
  return true;
}

}  // namespace smolvm
