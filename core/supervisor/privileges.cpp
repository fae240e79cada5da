#include "core/supervisor/privileges.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace smolvm {
namespace {

int last_cap() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int n = CAP_LAST_CAP;
  f >> n;
  return n;
}

// True when `path` or a folder above it is owned by someone else than us.
bool foreign_owned(std::string path) {
  const uid_t me = ::geteuid();
  while (!path.empty()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_uid != me) return true;
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0) break;
    path.resize(slash);
  }
  return false;
}

}  // namespace

nlohmann::json drop_privileges(bool keep_network, bool keep_kill,
                               const std::vector<std::string>& paths) {
  nlohmann::json out = nlohmann::json::object();
  // Whatever else happens: nothing exec'd from here on (QEMU, ip, nft) can
  // gain privileges through setuid bits or file capabilities.
  out["no_new_privs"] = ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;

  std::set<int> keep;
  if (keep_network) keep.insert({CAP_NET_ADMIN, CAP_NET_RAW});
  if (keep_kill) keep.insert(CAP_KILL);
  for (const auto& p : paths) {
    if (!p.empty() && foreign_owned(p)) {
      keep.insert({CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH});
      break;
    }
  }
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct now[2] = {};
  auto has = [&](int cap) { return (now[cap / 32].permitted >> (cap % 32)) & 1u; };
  if (::syscall(SYS_capget, &hdr, now) != 0 || !has(CAP_SETPCAP)) {
    out["capabilities"] = "unchanged (no CAP_SETPCAP: not running as root)";
    return out;
  }
  // The bounding set first: it caps what any later exec (QEMU) can hold.
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (!keep.count(cap)) ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_data_struct data[2] = {};
  nlohmann::json kept = nlohmann::json::array();
  for (int cap : keep) {
    if (!has(cap)) continue;  // never more than we had
    data[cap / 32].effective |= 1u << (cap % 32);
    data[cap / 32].permitted |= 1u << (cap % 32);
    kept.push_back(cap == CAP_NET_ADMIN      ? "CAP_NET_ADMIN"
                   : cap == CAP_NET_RAW      ? "CAP_NET_RAW"
                   : cap == CAP_KILL         ? "CAP_KILL"
                   : cap == CAP_DAC_OVERRIDE ? "CAP_DAC_OVERRIDE"
                                             : "CAP_DAC_READ_SEARCH");
  }
  if (::syscall(SYS_capset, &hdr, data) != 0) {
    out["capabilities"] = std::string("capset failed: ") + std::strerror(errno);
    return out;
  }
  out["capabilities"] = kept;
  return out;
}

}  // namespace smolvm
