#include "protocol/messages.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace smolvm::proto {
namespace {

using nlohmann::json;

// Reads a JSON object, refusing anything else.
bool load(std::string_view text, json& out, std::string& err) {
  out = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    err = "payload is not valid JSON";
    return false;
  }
  if (!out.is_object()) {
    err = "payload is not a JSON object";
    return false;
  }
  return true;
}

bool get_string(const json& j, const char* key, std::string& out, bool required, std::string& err) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) err = std::string("missing field '") + key + "'";
    return !required;
  }
  if (!it->is_string()) {
    err = std::string("field '") + key + "' must be a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

template <typename Int>
bool get_int(const json& j, const char* key, Int& out, bool required, std::string& err) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) err = std::string("missing field '") + key + "'";
    return !required;
  }
  if (!it->is_number_integer()) {
    err = std::string("field '") + key + "' must be an integer";
    return false;
  }
  if (it->is_number_unsigned()) {
    const auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
      err = std::string("field '") + key + "' is out of range";
      return false;
    }
    out = static_cast<Int>(v);
    return true;
  }
  const auto v = it->get<int64_t>();
  if (v < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
      (v > 0 &&
       static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<Int>::max()))) {
    err = std::string("field '") + key + "' is out of range";
    return false;
  }
  out = static_cast<Int>(v);
  return true;
}

bool get_bool(const json& j, const char* key, bool& out, std::string& err) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_boolean()) {
    err = std::string("field '") + key + "' must be a boolean";
    return false;
  }
  out = it->get<bool>();
  return true;
}

bool get_strings(const json& j, const char* key, std::vector<std::string>& out, std::string& err) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_array()) {
    err = std::string("field '") + key + "' must be an array of strings";
    return false;
  }
  out.clear();
  for (const auto& item : *it) {
    if (!item.is_string()) {
      err = std::string("field '") + key + "' must be an array of strings";
      return false;
    }
    out.push_back(item.get<std::string>());
  }
  return true;
}

// rows and cols of a terminal, both required, each 1..kMaxTerminalSize.
bool get_terminal_size(const json& j, const char* what, TerminalSize& out, std::string& err) {
  if (!get_int(j, "rows", out.rows, true, err) || !get_int(j, "cols", out.cols, true, err)) {
    err = std::string(what) + ": " + err;
    return false;
  }
  for (const auto& [name, v] : {std::pair{"rows", out.rows}, std::pair{"cols", out.cols}}) {
    if (v < 1 || v > kMaxTerminalSize) {
      err = std::string(what) + ": " + name + " " + std::to_string(v) + " must be 1.." +
            std::to_string(kMaxTerminalSize);
      return false;
    }
  }
  return true;
}

bool get_pty(const json& j, std::optional<PtyRequest>& out, std::string& err) {
  auto it = j.find("pty");
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_object()) {
    err = "field 'pty' must be an object {\"rows\",\"cols\",\"term\"}";
    return false;
  }
  PtyRequest p;
  if (!get_terminal_size(*it, "pty", p.size, err) || !get_string(*it, "term", p.term, false, err)) {
    return false;
  }
  if (!valid_term(p.term)) {
    err = "pty: term '" + p.term + "' must be 1..64 letters, digits or -_.+";
    return false;
  }
  out = p;
  return true;
}

}  // namespace

bool valid_term(std::string_view term) {
  if (term.empty() || term.size() > 64) return false;
  for (const char c : term) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '+';
    if (!ok) return false;
  }
  return true;
}

bool parse(std::string_view text, Hello& out, std::string& err) {
  json j;
  return load(text, j, err) && get_int(j, "version", out.version, true, err) &&
         get_string(j, "token", out.token, false, err) &&
         get_string(j, "client", out.client, false, err) &&
         get_int(j, "epoch", out.epoch, false, err);
}

bool parse(std::string_view text, HelloOk& out, std::string& err) {
  json j;
  return load(text, j, err) && get_int(j, "version", out.version, true, err) &&
         get_string(j, "agent", out.agent, false, err) &&
         get_int(j, "max_payload", out.max_payload, false, err) &&
         get_int(j, "epoch", out.epoch, false, err);
}

bool parse(std::string_view text, ErrorMsg& out, std::string& err) {
  json j;
  return load(text, j, err) && get_string(j, "code", out.code, false, err) &&
         get_string(j, "message", out.message, true, err);
}

bool parse(std::string_view text, ExecRequest& out, std::string& err) {
  json j;
  if (!load(text, j, err) || !get_strings(j, "argv", out.argv, err) ||
      !get_string(j, "shell", out.shell, false, err) ||
      !get_string(j, "shell_mode", out.shell_mode, false, err) ||
      !get_strings(j, "env", out.env, err) || !get_string(j, "cwd", out.cwd, false, err) ||
      !get_int(j, "timeout_ms", out.timeout_ms, false, err) ||
      !get_int(j, "window", out.window, false, err) ||
      !get_string(j, "user", out.user, false, err) || !get_pty(j, out.pty, err)) {
    return false;
  }
  if (out.user.size() > 256 ||
      out.user.find_first_of(std::string("\0\n", 2)) != std::string::npos) {
    err = "field 'user' must be a name, a uid or uid:gid";
    return false;
  }
  if (out.argv.empty() == out.shell.empty()) {
    err = "exactly one of 'argv' (non-empty) and 'shell' must be set";
    return false;
  }
  if (out.shell_mode != kShellLogin && out.shell_mode != kShellRaw) {
    err = "shell_mode '" + out.shell_mode + "' must be \"login\" or \"raw\"";
    return false;
  }
  for (const auto& kv : out.env) {
    if (kv.find('=') == std::string::npos || kv.front() == '=') {
      err = "env entry '" + kv + "' must be KEY=VALUE";
      return false;
    }
  }
  return true;
}

bool parse(std::string_view text, ExitStatus& out, std::string& err) {
  json j;
  return load(text, j, err) && get_int(j, "exit_code", out.exit_code, true, err) &&
         get_int(j, "signal", out.signal, false, err) &&
         get_bool(j, "timed_out", out.timed_out, err) &&
         get_int(j, "duration_us", out.duration_us, false, err);
}

bool parse(std::string_view text, FileWrite& out, std::string& err) {
  json j;
  if (!load(text, j, err) || !get_string(j, "path", out.path, true, err) ||
      !get_int(j, "mode", out.mode, false, err)) {
    return false;
  }
  if (out.path.empty() || out.path.front() != '/') {
    err = "path '" + out.path + "' must be absolute";
    return false;
  }
  if (out.mode > 07777) {
    err = "mode " + std::to_string(out.mode) + " must be at most 07777";
    return false;
  }
  return true;
}

bool parse(std::string_view text, FileRead& out, std::string& err) {
  json j;
  if (!load(text, j, err) || !get_string(j, "path", out.path, true, err) ||
      !get_int(j, "window", out.window, false, err)) {
    return false;
  }
  if (out.path.empty() || out.path.front() != '/') {
    err = "path '" + out.path + "' must be absolute";
    return false;
  }
  return true;
}

bool parse(std::string_view text, SignalMsg& out, std::string& err) {
  json j;
  if (!load(text, j, err) || !get_int(j, "signal", out.signal, true, err)) return false;
  if (out.signal < 1 || out.signal > 64) {
    err = "signal " + std::to_string(out.signal) + " must be 1..64";
    return false;
  }
  return true;
}

bool parse(std::string_view text, Resize& out, std::string& err) {
  json j;
  return load(text, j, err) && get_terminal_size(j, "RESIZE", out, err);
}

bool parse(std::string_view text, VmStop& out, std::string& err) {
  json j;
  return load(text, j, err) && get_int(j, "timeout_ms", out.timeout_ms, false, err) &&
         get_bool(j, "force", out.force, err);
}

bool parse(std::string_view text, VmSnapshot& out, std::string& err) {
  json j;
  return load(text, j, err) && get_string(j, "dir", out.dir, true, err) &&
         get_bool(j, "stop", out.stop, err);
}

bool parse(std::string_view text, VmSnapshotted& out, std::string& err) {
  json j;
  return load(text, j, err) && get_int(j, "state_bytes", out.state_bytes, false, err) &&
         get_int(j, "disk_bytes", out.disk_bytes, false, err) &&
         get_int(j, "duration_ms", out.duration_ms, false, err);
}

// Strings that came from users may hold invalid UTF-8: replace, never throw.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string to_json(const Hello& m) {
  json j{{"version", m.version}, {"token", m.token}, {"client", m.client}};
  if (m.epoch) j["epoch"] = m.epoch;
  return dump(j);
}
std::string to_json(const HelloOk& m) {
  json j{{"version", m.version}, {"agent", m.agent}, {"max_payload", m.max_payload}};
  if (m.epoch) j["epoch"] = m.epoch;
  return dump(j);
}
std::string to_json(const ErrorMsg& m) {
  return json{{"code", m.code}, {"message", m.message}}.dump(-1, ' ', false,
                                                             json::error_handler_t::replace);
}
std::string to_json(const ExecRequest& m) {
  json j;
  if (!m.shell.empty()) {
    j["shell"] = m.shell;
    if (m.shell_mode != kShellLogin) j["shell_mode"] = m.shell_mode;
  } else {
    j["argv"] = m.argv;
  }
  if (!m.env.empty()) j["env"] = m.env;
  if (!m.cwd.empty()) j["cwd"] = m.cwd;
  if (m.timeout_ms) j["timeout_ms"] = m.timeout_ms;
  if (m.window) j["window"] = m.window;
  if (!m.user.empty()) j["user"] = m.user;
  if (m.pty) {
    j["pty"] = json{{"rows", m.pty->size.rows}, {"cols", m.pty->size.cols}, {"term", m.pty->term}};
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string to_json(const ExitStatus& m) {
  return json{{"exit_code", m.exit_code},
              {"signal", m.signal},
              {"timed_out", m.timed_out},
              {"duration_us", m.duration_us}}
      .dump();
}
std::string to_json(const FileWrite& m) {
  return json{{"path", m.path}, {"mode", m.mode}}.dump(-1, ' ', false,
                                                       json::error_handler_t::replace);
}
std::string to_json(const FileRead& m) {
  json j{{"path", m.path}};
  if (m.window) j["window"] = m.window;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string to_json(const SignalMsg& m) { return json{{"signal", m.signal}}.dump(); }
std::string to_json(const Resize& m) { return json{{"rows", m.rows}, {"cols", m.cols}}.dump(); }
std::string to_json(const VmStop& m) {
  return json{{"timeout_ms", m.timeout_ms}, {"force", m.force}}.dump();
}
std::string to_json(const VmSnapshot& m) { return dump(json{{"dir", m.dir}, {"stop", m.stop}}); }
std::string to_json(const VmSnapshotted& m) {
  return json{
      {"state_bytes", m.state_bytes}, {"disk_bytes", m.disk_bytes}, {"duration_ms", m.duration_ms}}
      .dump();
}

}  // namespace smolvm::proto
