// Shell text shared by the guest agent and executor-ssh: quoting, which
// environment keys a shell can assign, and the line a login shell runs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smolvm::proto {

// 'text' with every ' escaped: one word for any POSIX shell.
std::string shell_quote(std::string_view s);

// A name a shell can assign (letters, digits, _; not starting with a digit).
bool is_shell_name(std::string_view key);

// A login shell (-l -c) reads a profile that may replace what the request
// set (Debian's /etc/profile sets PATH). So each KEY=VALUE of the request
// (KEY a shell name) also travels as a saved copy, saved_env(env), which
// login_command(env, command) restores after the profile and then unsets,
// before command runs. The values stay out of the command line (ps).
std::vector<std::string> saved_env(const std::vector<std::string>& env);
std::string login_command(const std::vector<std::string>& env, const std::string& command);

}  // namespace smolvm::proto
