// Limits on what a command request may carry, checked in the core before
// any executor sees it, so every executor and binding refuses the same
// request with the same message (instead of the supervisor dropping an
// oversized frame and the connection with it).
#pragma once

#include <string>
#include <vector>

namespace smolvm {

struct ExecRequest;

// Throws EINVAL naming the largest field, its size and the limit
// (SMOLVM_EXEC_REQUEST_MAX_BYTES) when argv, command, env (default_env, the
// VM's own, included) and cwd do not fit together, or when one of them
// holds a NUL byte (text in C ends there: the rest would be lost silently).
void check_request_size(const ExecRequest& req, const std::vector<std::string>& default_env);

// A guest path travels in one frame too: at most PATH_MAX (4096) bytes and
// no NUL, or EINVAL naming the field.
void check_path_text(const std::string& field, const std::string& path);

}  // namespace smolvm
