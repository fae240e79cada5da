// smolvm/sdk/path.h - finding the programs a plugin runs.
#ifndef SMOLVM_SDK_PATH_H
#define SMOLVM_SDK_PATH_H

#include <string>

namespace smolvm::sdk {

// Resolves a command name through PATH the way execvp does: an empty entry
// is the current folder, an unset or empty PATH is /usr/local/bin:/usr/bin:
// /bin; a name with a '/' is checked as is. "" if nothing executable is found.
std::string which(const std::string& name);

// For the host's administration tools (ip, nft, iptables), which live in
// sbin folders an unprivileged user's PATH often lacks: PATH, then
// /usr/sbin:/sbin:/usr/bin:/bin; empty PATH entries are skipped (a tool run
// as root is never taken from the current folder). "" if absent.
std::string find_system_tool(const std::string& name);

}  // namespace smolvm::sdk

#endif  // SMOLVM_SDK_PATH_H
