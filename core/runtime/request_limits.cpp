#include "core/runtime/request_limits.h"

#include <climits>

#include "core/common/error.h"
#include "core/runtime/guest_session.h"
#include "protocol/frame.h"

namespace smolvm {
namespace {

// The executor sends a request as one JSON frame. JSON makes a byte at most
// six (\u0001) and adds at most three per string (quotes, comma), which the
// counted NUL of each string pays for; the keys need far less than 1 KiB.
static_assert(6 * size_t{SMOLVM_EXEC_REQUEST_MAX_BYTES} + 1024 <= proto::kMaxPayload,
              "an exec request at the limit must fit in one protocol frame");

struct Field {
  std::string name;
  size_t bytes = 0;
};

void refuse_nul(const std::string& field, const std::string& value) {
  if (value.find('\0') != std::string::npos) {
    fail(SMOLVM_EINVAL, field + ": must not contain NUL bytes (text ends at the first one)");
  }
}

std::string env_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

void check_request_size(const ExecRequest& req, const std::vector<std::string>& default_env) {
  size_t total = 0;
  Field largest;
  auto count = [&](const std::string& name, size_t bytes, size_t strings) {
    total += bytes + strings;  // each string's NUL
    if (bytes > largest.bytes) largest = Field{name, bytes};
  };
  size_t argv_bytes = 0;
  for (size_t i = 0; i < req.argv.size(); ++i) {
    refuse_nul("argv[" + std::to_string(i) + "]", req.argv[i]);
    argv_bytes += req.argv[i].size();
  }
  count("argv", argv_bytes, req.argv.size());
  refuse_nul("command", req.command);
  if (!req.command.empty()) count("command", req.command.size(), 1);
  for (const auto* list : {&default_env, &req.env}) {
    for (const auto& kv : *list) {
      refuse_nul("env " + env_key(kv), kv);
      count("env " + env_key(kv), kv.size(), 1);
    }
  }
  refuse_nul("cwd", req.cwd);
  if (!req.cwd.empty()) count("cwd", req.cwd.size(), 1);
  if (total > SMOLVM_EXEC_REQUEST_MAX_BYTES) {
    fail(SMOLVM_EINVAL, largest.name + ": " + std::to_string(largest.bytes) +
                            " bytes; a command's argv, command, env and cwd must fit in " +
                            std::to_string(SMOLVM_EXEC_REQUEST_MAX_BYTES) +
                            " bytes together (pass large data as stdin or a file)");
  }
}

void check_path_text(const std::string& field, const std::string& path) {
  refuse_nul(field, path);
  if (path.size() >= PATH_MAX) {
    fail(SMOLVM_EINVAL, field + ": " + std::to_string(path.size()) +
                            " bytes; a path must be shorter than " + std::to_string(PATH_MAX) +
                            " bytes (PATH_MAX)");
  }
}

}  // namespace smolvm
