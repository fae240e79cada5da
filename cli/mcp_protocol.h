// The JSON-RPC 2.0 framing of `smolvm mcp` (the Model Context Protocol over
// stdio): one message per line, classified and checked here without side
// effects, so the server loop (cli/cmd_mcp.cpp) only dispatches.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smolvm_cli::mcp {

// JSON-RPC 2.0's own error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

// The MCP revisions this server speaks, newest first.
extern const std::vector<std::string> kProtocolVersions;

struct Message {
  enum class Kind { kRequest, kNotification, kResponse, kInvalid };
  Kind kind = Kind::kInvalid;
  nlohmann::json id;  // a request's (string or integer); null otherwise
  std::string method;
  nlohmann::json params;  // an object (empty when the message had none)
  // For kInvalid: the error response to send back (id null when unknown).
  nlohmann::json error;
};

// One line of input. Bad JSON gives kParseError, a message that is not a
// JSON-RPC 2.0 request, notification or response kInvalidRequest (batches
// included: MCP since 2025-06-18 has none, and a stdio client sends none).
Message parse_message(const std::string& line);

nlohmann::json result_response(const nlohmann::json& id, nlohmann::json result);
nlohmann::json error_response(const nlohmann::json& id, int code, const std::string& message);
nlohmann::json notification(const std::string& method, nlohmann::json params);

// One message as one line (newline-terminated). Text that is not valid
// UTF-8 (a guest's output) is replaced, never a reason to fail.
std::string frame(const nlohmann::json& message);

// The revision to answer an initialize with: the client's when this server
// speaks it, else the newest this server speaks (the client then decides).
std::string negotiate_version(const nlohmann::json& initialize_params);

}  // namespace smolvm_cli::mcp
