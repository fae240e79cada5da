#include "cli/mcp_protocol.h"

#include <algorithm>

namespace smolvm_cli::mcp {

using nlohmann::json;

const std::vector<std::string> kProtocolVersions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05"};

namespace {

Message invalid(const json& id, int code, const std::string& why) {
  Message m;
  m.error = error_response(id, code, why);
  return m;
}

bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

}  // namespace

Message parse_message(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return invalid(nullptr, kParseError, "parse error: the line is not JSON");
  if (!j.is_object()) {
    return invalid(nullptr, kInvalidRequest,
                   "invalid request: a message must be a JSON object (batches are not "
                   "supported), got " +
                       std::string(j.type_name()));
  }
  const json id = j.contains("id") ? j["id"] : json();
  if (j.value("jsonrpc", json()) != "2.0") {
    return invalid(valid_id(id) ? id : json(), kInvalidRequest,
                   "invalid request: jsonrpc must be \"2.0\"");
  }
  if (j.contains("id") && !valid_id(id)) {
    return invalid(nullptr, kInvalidRequest,
                   "invalid request: id=" + id.dump() + ": must be a string or an integer");
  }
  Message m;
  m.id = id;
  if (!j.contains("method")) {
    if (j.contains("id") && (j.contains("result") || j.contains("error"))) {
      m.kind = Message::Kind::kResponse;
      return m;
    }
    return invalid(id, kInvalidRequest, "invalid request: no method");
  }
  if (!j["method"].is_string() || j["method"].get_ref<const std::string&>().empty()) {
    return invalid(
        id, kInvalidRequest,
        "invalid request: method=" + j["method"].dump() + ": must be a non-empty string");
  }
  m.method = j["method"].get<std::string>();
  if (j.contains("params") && !j["params"].is_object()) {
    return invalid(id, kInvalidParams,
                   "invalid params: params=" +
                       j["params"].dump(-1, ' ', false, json::error_handler_t::replace) +
                       ": must be an object");
  }
  m.params = j.contains("params") ? j["params"] : json::object();
  m.kind = j.contains("id") ? Message::Kind::kRequest : Message::Kind::kNotification;
  return m;
}

json result_response(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json error_response(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json notification(const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

std::string frame(const json& message) {
  // dump() escapes every control character, newlines included, so the
  // message is one line whatever its strings hold.
  return message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string negotiate_version(const json& params) {
  const json asked = params.value("protocolVersion", json());
  if (asked.is_string() && std::find(kProtocolVersions.begin(), kProtocolVersions.end(),
                                     asked.get<std::string>()) != kProtocolVersions.end()) {
    return asked.get<std::string>();
  }
  return kProtocolVersions.front();
}

}  // namespace smolvm_cli::mcp
