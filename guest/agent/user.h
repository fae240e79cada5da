// Who a command runs as: the EXEC request's `user` ("" for the agent's own,
// a name, or uid[:gid]) resolved against the guest's /etc/passwd and
// /etc/group before the command is forked, so the child only switches.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smolvm::agent {

struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (of a named user)
  std::string name;           // "" for a uid without a passwd entry
  std::string home = "/";
  std::string shell;  // the passwd entry's, "" without one
};

// Resolves spec against passwd and group texts (the files' contents). A
// name must have a passwd entry; a uid need not (its gid is then the one
// given, or the uid's own number). False with err naming the user and what
// is allowed.
bool resolve_user(std::string_view spec, std::string_view passwd, std::string_view group,
                  RunAs& out, std::string& err);

// As above with the guest's /etc/passwd and /etc/group. An empty spec is
// nullopt: the agent's own user, no switch.
bool resolve_user(std::string_view spec, std::optional<RunAs>& out, std::string& err);

}  // namespace smolvm::agent
