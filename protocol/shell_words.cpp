#include "protocol/shell_words.h"

namespace smolvm::proto {

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool is_shell_name(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

namespace {

constexpr std::string_view kSavedPrefix = "SMOLVM_SAVED_";

// The KEY of KEY=VALUE when a shell can assign it, else "".
std::string_view shell_key(std::string_view kv) {
  const size_t eq = kv.find('=');
  if (eq == std::string_view::npos || !is_shell_name(kv.substr(0, eq))) return {};
  return kv.substr(0, eq);
}

}  // namespace

std::vector<std::string> saved_env(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  for (const auto& kv : env) {
    if (!shell_key(kv).empty()) out.push_back(std::string(kSavedPrefix) + kv);
  }
  return out;
}

std::string login_command(const std::vector<std::string>& env, const std::string& command) {
  std::string restore;
  for (const auto& kv : env) {
    const std::string key(shell_key(kv));
    if (key.empty()) continue;
    const std::string saved = std::string(kSavedPrefix) + key;
    restore += "export " + key + "=\"$" + saved + "\"; unset " + saved + "; ";
  }
  // On a line of its own: the command's text is parsed exactly as given.
  return restore.empty() ? command : restore + "\n" + command;
}

}  // namespace smolvm::proto
