#include "guest/agent/user.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace smolvm::agent {
namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream in(line);
  for (std::string x; std::getline(in, x, sep);) out.push_back(x);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

std::optional<uint32_t> number(std::string_view s) {
  uint32_t v = 0;
  if (s.empty() || s.size() > 10) return std::nullopt;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string read_text(const char* path) {
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}

}  // namespace

bool resolve_user(std::string_view spec, std::string_view passwd, std::string_view group,
                  RunAs& out, std::string& err) {
  const std::string what = "user '" + std::string(spec) + "'";
  const size_t colon = spec.find(':');
  const std::string_view user_part = spec.substr(0, colon);
  std::optional<uint32_t> gid_given;
  if (colon != std::string_view::npos) {
    gid_given = number(spec.substr(colon + 1));
    if (!gid_given || !number(user_part)) {
      err = what + " must be a name, a uid or uid:gid (numbers)";
      return false;
    }
  }
  const std::optional<uint32_t> uid_given = number(user_part);
  if (user_part.empty()) {
    err = what + " must be a name, a uid or uid:gid";
    return false;
  }
  out = RunAs{};
  bool found = false;
  std::istringstream lines{std::string(passwd)};
  for (std::string line; std::getline(lines, line);) {
    // name:password:uid:gid:gecos:home:shell
    const auto f = split(line, ':');
    if (f.size() < 7) continue;
    const auto uid = number(f[2]), gid = number(f[3]);
    if (!uid || !gid) continue;
    if (uid_given ? *uid != *uid_given : f[0] != user_part) continue;
    out.uid = *uid;
    out.gid = *gid;
    out.name = f[0];
    out.home = f[5].empty() ? "/" : f[5];
    out.shell = f[6];
    found = true;
    break;
  }
  if (!found) {
    if (!uid_given) {
      err = what + " is not in the guest's /etc/passwd (give a user name it has, or a uid)";
      return false;
    }
    out.uid = *uid_given;
    out.gid = *uid_given;
  }
  if (gid_given) out.gid = *gid_given;
  out.groups.push_back(out.gid);
  if (!out.name.empty()) {
    // name:password:gid:member,member
    std::istringstream glines{std::string(group)};
    for (std::string line; std::getline(glines, line);) {
      const auto f = split(line, ':');
      if (f.size() < 4) continue;
      const auto gid = number(f[2]);
      if (!gid || *gid == out.gid) continue;
      for (const auto& member : split(f[3], ',')) {
        if (member == out.name) out.groups.push_back(*gid);
      }
    }
  }
  return true;
}

bool resolve_user(std::string_view spec, std::optional<RunAs>& out, std::string& err) {
  out.reset();
  if (spec.empty()) return true;
  RunAs as;
  if (!resolve_user(spec, read_text("/etc/passwd"), read_text("/etc/group"), as, err)) {
    return false;
  }
  out = std::move(as);
  return true;
}

}  // namespace smolvm::agent
