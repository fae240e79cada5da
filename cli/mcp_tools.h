// The tools `smolvm mcp` offers: their descriptions and JSON Schemas (the
// one definition of every argument's type, range and default), the check
// of a call's arguments against them, and the typed arguments each tool
// acts on. No side effects: cli/cmd_mcp.cpp calls the C ABI with these.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace smolvm_cli::mcp {

// Arguments that do not fit a tool's schema: the message names the tool,
// the field, the value and what is allowed. Answered with kInvalidParams.
struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What tools/list returns: [{name, description, inputSchema}...].
const nlohmann::json& tool_list();

// Checks arguments (an object, or null for none) against the schema of the
// named tool and returns them with the schema's defaults filled in.
// ArgumentError for an unknown tool or arguments that do not fit.
nlohmann::json checked_arguments(const std::string& tool, const nlohmann::json& arguments);

// The same check for any schema (the subset the tools use: type, enum,
// minimum, maximum, minLength, maxLength, pattern, properties, required,
// additionalProperties, default). where names the value in messages.
nlohmann::json check_schema(const nlohmann::json& schema, const nlohmann::json& value,
                            const std::string& where);

// Per stream, what run_command returns of a command's output at most.
inline constexpr size_t kOutputLimitBytes = 32 * 1024;
// The most a write_file or read_file moves in one call.
inline constexpr uint64_t kFileLimitBytes = 16ull * 1024 * 1024;

struct CreateArgs {
  uint32_t vcpus = 0;       // 0: the library's default
  uint32_t memory_mib = 0;  // 0: the library's default
  std::string image, profile;
  std::string network;  // "none" or "auto"
  bool persistent = false;
};
struct RunArgs {
  std::string id, command, cwd, user;
  std::vector<std::string> env;  // NAME=VALUE
  uint32_t timeout_s = 0;
};
struct WriteArgs {
  std::string id, path;
  std::string data;  // decoded
  uint32_t mode = 0;
};
struct ReadArgs {
  std::string id, path;
  bool base64 = false;
  uint64_t max_bytes = 0;
};
struct ExposeArgs {
  std::string id;
  uint32_t guest_port = 0, host_port = 0;
};
struct SnapshotArgs {
  std::string id, name;
};
struct RestoreArgs {
  std::string snapshot;
  bool persistent = false;
};

// Each takes checked_arguments' output for its tool.
CreateArgs create_args(const nlohmann::json& a);
RunArgs run_args(const nlohmann::json& a);
WriteArgs write_args(const nlohmann::json& a);  // ArgumentError for bad base64 or too much
ReadArgs read_args(const nlohmann::json& a);
ExposeArgs expose_args(const nlohmann::json& a);
SnapshotArgs snapshot_args(const nlohmann::json& a);
RestoreArgs restore_args(const nlohmann::json& a);

// A command's output as run_command returns it: at most limit bytes, its
// head and its tail, with a note between them saying how many bytes were
// dropped. Holds no more than limit bytes however much comes.
class CappedOutput {
 public:
  explicit CappedOutput(size_t limit) : limit_(limit) {}
  void append(const char* data, size_t len);
  uint64_t total() const { return total_; }
  uint64_t dropped() const { return total_ - head_.size() - tail_.size(); }
  std::string text() const;

 private:
  size_t limit_;
  uint64_t total_ = 0;
  std::string head_, tail_;  // tail_: the newest bytes, at most limit - limit / 2
};

}  // namespace smolvm_cli::mcp
