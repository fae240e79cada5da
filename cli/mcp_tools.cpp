#include "cli/mcp_tools.h"

#include <algorithm>
#include <stdexcept>

#include "protocol/base64.h"
#include "smolvm/smolvm.h"

namespace smolvm_cli::mcp {

using nlohmann::json;

namespace {

// The longest command timeout: a day.
constexpr uint32_t kTimeoutMaxS = 86400;
constexpr uint32_t kTimeoutDefaultS = 300;

// The schemas' patterns, each checked by matches() below rather than by
// std::regex, which recurses per character (a long hostile string can
// overflow the stack) and trips GCC 12's -Wmaybe-uninitialized at -O3.
constexpr const char* kAbsolutePath = "^/";
constexpr const char* kName = "^[a-z0-9][a-z0-9._-]{0,62}$";

bool matches(const std::string& pattern, const std::string& s) {
  if (pattern == kAbsolutePath) return !s.empty() && s[0] == '/';
  if (pattern == kName) {
    const auto lower_or_digit = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    };
    if (s.empty() || s.size() > 63 || !lower_or_digit(s[0])) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) {
      return lower_or_digit(c) || c == '.' || c == '_' || c == '-';
    });
  }
  throw std::logic_error("mcp_tools: no matcher for the schema pattern " + pattern);
}

json id_property() {
  return {{"type", "string"},
          {"minLength", 1},
          {"description", "The sandbox's id, as create_sandbox or list_sandboxes gave it."}};
}

json guest_path_property(const char* what) {
  return {{"type", "string"},
          {"pattern", kAbsolutePath},
          {"description", std::string("Absolute path of the file in the sandbox ") + what + "."}};
}

json encoding_property(const char* description) {
  return {{"type", "string"},
          {"enum", {"text", "base64"}},
          {"default", "text"},
          {"description", description}};
}

// An integer in lo..hi, with or without a default.
json integer_property(int64_t lo, int64_t hi, const std::string& description) {
  return {{"type", "integer"}, {"minimum", lo}, {"maximum", hi}, {"description", description}};
}
json integer_property(int64_t lo, int64_t hi, int64_t fallback, const std::string& description) {
  json p = integer_property(lo, hi, description);
  p["default"] = fallback;
  return p;
}

json tool(const char* name, const std::string& description, json properties,
          std::vector<std::string> required) {
  json schema = {
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = std::move(required);
  return {{"name", name}, {"description", description}, {"inputSchema", std::move(schema)}};
}

json make_tool_list() {
  json tools = json::array();
  tools.push_back(tool(
      "create_sandbox",
      "Create and boot a new sandbox: a hardware-isolated Linux microVM (Debian, root, bash) "
      "with its own kernel. Returns its id, which the other tools take. It is deleted when "
      "this MCP session ends unless persistent is true. It has no network unless network is "
      "\"default\".",
      {{"vcpus", integer_property(
                     SMOLVM_VCPU_MIN, SMOLVM_VCPU_MAX,
                     "Virtual CPUs; " + std::to_string(SMOLVM_VCPU_DEFAULT) + " when left out.")},
       {"memory_mib", integer_property(SMOLVM_MEM_MIB_MIN, SMOLVM_MEM_MIB_MAX,
                                       "Memory in MiB; " + std::to_string(SMOLVM_MEM_MIB_DEFAULT) +
                                           " when left out.")},
       {"image",
        {{"type", "string"},
         {"minLength", 1},
         {"description",
          "A named image (`smolvm image ls`); the default Debian image when left out."}}},
       {"profile",
        {{"type", "string"},
         {"minLength", 1},
         {"description",
          "Path on the host of a VM profile (YAML, kind: VMProfile) to create the sandbox "
          "from; it then sets resources, image and network itself, so vcpus, memory_mib, "
          "image and network must be left out."}}},
       {"network",
        {{"type", "string"},
         {"enum", {"none", "default"}},
         {"default", "none"},
         {"description",
          "\"none\": no network device at all. \"default\": outbound NAT through the host "
          "(needs CAP_NET_ADMIN on the host), and expose_port works."}}},
       {"persistent",
        {{"type", "boolean"},
         {"default", false},
         {"description",
          "true: the sandbox outlives this MCP session (delete it with delete_sandbox)."}}}},
      {}));
  tools.push_back(
      tool("run_command",
           "Run a shell command line in a sandbox (bash -l -c, as root unless user is given) and "
           "wait for it. Returns exit_code, stdout and stderr; each stream longer than " +
               std::to_string(kOutputLimitBytes / 1024) +
               " KiB is cut to its first and last half of that, with a note saying how many bytes "
               "were dropped (redirect to a file and read_file it for all). The command and "
               "everything it started are killed at "
               "timeout_s. Sends progress notifications while it runs when the request has a "
               "progressToken.",
           {{"id", id_property()},
            {"command",
             {{"type", "string"},
              {"minLength", 1},
              {"description", "The command line, e.g. \"cd /src && make test 2>&1\"."}}},
            {"cwd",
             {{"type", "string"},
              {"pattern", kAbsolutePath},
              {"description", "Working directory (absolute); / or the user's home by default."}}},
            {"env",
             {{"type", "object"},
              {"additionalProperties", {{"type", "string"}}},
              {"description", "Environment variables for this command, {\"NAME\": \"value\"}."}}},
            {"user",
             {{"type", "string"},
              {"minLength", 1},
              {"description",
               "Guest user to run as: a name (\"user\", uid 1000, in the default "
               "image), a uid or uid:gid. root by default."}}},
            {"timeout_s", integer_property(1, kTimeoutMaxS, kTimeoutDefaultS,
                                           "Seconds before the command is killed.")}},
           {"id", "command"}));
  tools.push_back(
      tool("write_file",
           "Write a file in a sandbox (created or replaced; missing parent folders are made). "
           "content is text, or base64 for binary data with encoding \"base64\". At most " +
               std::to_string(kFileLimitBytes >> 20) + " MiB.",
           {{"id", id_property()},
            {"path", guest_path_property("to write")},
            {"content", {{"type", "string"}, {"description", "The file's content."}}},
            {"encoding", encoding_property("How content is given.")},
            {"mode", integer_property(0, 07777, 0644,
                                      "Permission bits, as a number (420 is 0644, 493 is 0755).")}},
           {"id", "path", "content"}));
  tools.push_back(
      tool("read_file",
           "Read a file from a sandbox. encoding \"text\" (the default) needs UTF-8 content; use "
           "\"base64\" for binary files.",
           {{"id", id_property()},
            {"path", guest_path_property("to read")},
            {"encoding", encoding_property("How the content is returned.")},
            {"max_bytes", integer_property(1, kFileLimitBytes, 1024 * 1024,
                                           "Refuse a file larger than this many bytes.")}},
           {"id", "path"}));
  tools.push_back(tool("list_sandboxes",
                       "List every sandbox on this host (not only this session's) with its "
                       "state, resources and whether this session created it.",
                       json::object(), {}));
  tools.push_back(tool("delete_sandbox",
                       "Stop a sandbox and delete it with its disk. Cannot be undone.",
                       {{"id", id_property()}}, {"id"}));
  tools.push_back(
      tool("expose_port",
           "Forward a port on the host's 127.0.0.1 to a port in a sandbox created with network "
           "\"default\", e.g. to reach a web server the sandbox runs. Returns the host address.",
           {{"id", id_property()},
            {"guest_port", integer_property(1, 65535, "The port the sandbox listens on.")},
            {"host_port", integer_property(0, 65535, 0, "Port on 127.0.0.1; 0 picks a free one.")}},
           {"id", "guest_port"}));
  tools.push_back(
      tool("snapshot_sandbox",
           "Save a running sandbox's memory and disk as a snapshot; the sandbox runs on. "
           "restore_sandbox makes new sandboxes that continue from that moment (each with its own "
           "address when the sandbox has a network). Needs a sandbox with its own (isolated) disk.",
           {{"id", id_property()},
            {"name",
             {{"type", "string"},
              {"pattern", kName},
              {"description", "A unique name for the snapshot (optional)."}}}},
           {"id"}));
  tools.push_back(
      tool("restore_sandbox",
           "Create and start a new sandbox from a snapshot: it continues from the moment the "
           "snapshot was taken (processes, files, memory). Deleted when this session ends unless "
           "persistent.",
           {{"snapshot",
             {{"type", "string"},
              {"minLength", 1},
              {"description", "The snapshot's id or name, as snapshot_sandbox gave it."}}},
            {"persistent",
             {{"type", "boolean"},
              {"default", false},
              {"description", "true: the new sandbox outlives this MCP session."}}}},
           {"snapshot"}));
  return tools;
}

std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

bool has_type(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "integer")
    return v.is_number_integer() || (v.is_number_float() && [&] {
             const double d = v.get<double>();
             return d == static_cast<double>(static_cast<int64_t>(d));
           }());
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  return false;
}

}  // namespace

const json& tool_list() {
  static const json tools = make_tool_list();
  return tools;
}

json check_schema(const json& schema, const json& value, const std::string& where) {
  auto fail = [&](const std::string& rule) {
    throw ArgumentError(where + "=" + shown(value) + ": " + rule);
  };
  const std::string type = schema.value("type", "");
  if (!type.empty() && !has_type(value, type))
    fail("must be " +
         std::string(std::string("aeiou").find(type[0]) != std::string::npos ? "an " : "a ") +
         type);
  json out = value;
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    std::string allowed;
    for (const auto& e : schema["enum"]) allowed += (allowed.empty() ? "" : ", ") + e.dump();
    fail("must be one of " + allowed);
  }
  if (type == "integer") {
    const auto n = static_cast<int64_t>(value.get<double>());
    out = n;
    const bool lo = schema.contains("minimum"), hi = schema.contains("maximum");
    if ((lo && n < schema["minimum"].get<int64_t>()) ||
        (hi && n > schema["maximum"].get<int64_t>())) {
      if (lo && hi) {
        fail("must be " + schema["minimum"].dump() + ".." + schema["maximum"].dump());
      }
      fail(lo ? "must be at least " + schema["minimum"].dump()
              : "must be at most " + schema["maximum"].dump());
    }
  }
  if (type == "string") {
    const auto& s = value.get_ref<const std::string&>();
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<size_t>()) {
      fail(schema["minLength"].get<size_t>() == 1
               ? "must not be empty"
               : "must be at least " + schema["minLength"].dump() + " long");
    }
    if (schema.contains("pattern") && !matches(schema["pattern"].get<std::string>(), s)) {
      fail(schema["pattern"] == kAbsolutePath
               ? "must be an absolute path"
               : "must match " + schema["pattern"].get<std::string>());
    }
  }
  if (type == "object") {
    const json props = schema.value("properties", json::object());
    for (const auto& r : schema.value("required", json::array())) {
      if (!value.contains(r.get<std::string>())) {
        throw ArgumentError(where + ": " + r.get<std::string>() + " is required");
      }
    }
    const std::string prefix = where.empty() ? "" : where + ".";
    for (const auto& [key, v] : value.items()) {
      if (props.contains(key)) {
        out[key] = check_schema(props[key], v, prefix + key);
        continue;
      }
      const json extra = schema.value("additionalProperties", json(true));
      if (extra == false) {
        std::string known;
        for (const auto& [k, _] : props.items()) known += (known.empty() ? "" : ", ") + k;
        throw ArgumentError(where + ": unknown argument '" + key + "'" +
                            (known.empty() ? " (it takes none)" : " (known: " + known + ")"));
      }
      if (extra.is_object()) out[key] = check_schema(extra, v, prefix + key);
    }
    for (const auto& [key, p] : props.items()) {
      if (!out.contains(key) && p.contains("default")) out[key] = p["default"];
    }
  }
  return out;
}

json checked_arguments(const std::string& name, const json& arguments) {
  for (const auto& t : tool_list()) {
    if (t["name"] == name) {
      return check_schema(t["inputSchema"], arguments.is_null() ? json::object() : arguments, name);
    }
  }
  std::string known;
  for (const auto& t : tool_list()) {
    known += (known.empty() ? "" : ", ") + t["name"].get<std::string>();
  }
  throw ArgumentError("unknown tool '" + name + "' (tools: " + known + ")");
}

CreateArgs create_args(const json& a) {
  CreateArgs c;
  // vcpus and memory_mib have no schema default: absent is 0, the
  // library's own default, and tells a profile's conflict from no value.
  if (a.contains("profile")) {
    for (const char* f : {"vcpus", "memory_mib", "image"}) {
      if (a.contains(f)) {
        throw ArgumentError(std::string("create_sandbox: ") + f + "=" + shown(a[f]) +
                            ": cannot be combined with profile (the profile sets it)");
      }
    }
    if (a["network"] != "none") {
      throw ArgumentError("create_sandbox: network=" + shown(a["network"]) +
                          ": cannot be combined with profile (the profile sets it)");
    }
    c.profile = a["profile"].get<std::string>();
  }
  c.vcpus = a.value("vcpus", 0u);
  c.memory_mib = a.value("memory_mib", 0u);
  c.image = a.value("image", "");
  c.network = a["network"] == "default" ? "auto" : "none";
  c.persistent = a["persistent"].get<bool>();
  return c;
}

RunArgs run_args(const json& a) {
  RunArgs r;
  r.id = a["id"].get<std::string>();
  r.command = a["command"].get<std::string>();
  r.cwd = a.value("cwd", "");
  r.user = a.value("user", "");
  const json env = a.value("env", json::object());  // items() needs it alive
  for (const auto& [k, v] : env.items()) {
    r.env.push_back(k + "=" + v.get<std::string>());
  }
  r.timeout_s = a["timeout_s"].get<uint32_t>();
  return r;
}

WriteArgs write_args(const json& a) {
  WriteArgs w;
  w.id = a["id"].get<std::string>();
  w.path = a["path"].get<std::string>();
  w.mode = a["mode"].get<uint32_t>();
  const auto& content = a["content"].get_ref<const std::string&>();
  if (a["encoding"] == "base64") {
    auto decoded = smolvm::proto::base64_decode(content);
    if (!decoded) {
      throw ArgumentError("write_file: content=" + shown(a["content"]) +
                          ": is not base64 (encoding is \"base64\")");
    }
    w.data = std::move(*decoded);
  } else {
    w.data = content;
  }
  if (w.data.size() > kFileLimitBytes) {
    throw ArgumentError("write_file: content is " + std::to_string(w.data.size()) +
                        " bytes: must be at most " + std::to_string(kFileLimitBytes));
  }
  return w;
}

ReadArgs read_args(const json& a) {
  return {a["id"].get<std::string>(), a["path"].get<std::string>(), a["encoding"] == "base64",
          a["max_bytes"].get<uint64_t>()};
}

ExposeArgs expose_args(const json& a) {
  return {a["id"].get<std::string>(), a["guest_port"].get<uint32_t>(),
          a["host_port"].get<uint32_t>()};
}

SnapshotArgs snapshot_args(const json& a) {
  return {a["id"].get<std::string>(), a.value("name", "")};
}

RestoreArgs restore_args(const json& a) {
  return {a["snapshot"].get<std::string>(), a["persistent"].get<bool>()};
}

void CappedOutput::append(const char* data, size_t len) {
  total_ += len;
  const size_t head_room = limit_ / 2 - std::min(head_.size(), limit_ / 2);
  const size_t to_head = std::min(len, head_room);
  head_.append(data, to_head);
  data += to_head;
  len -= to_head;
  const size_t tail_max = limit_ - limit_ / 2;
  if (len >= tail_max) {
    tail_.assign(data + len - tail_max, tail_max);
  } else {
    tail_.append(data, len);
    if (tail_.size() > tail_max) tail_.erase(0, tail_.size() - tail_max);
  }
}

std::string CappedOutput::text() const {
  if (dropped() == 0) return head_ + tail_;
  return head_ + "\n[... " + std::to_string(dropped()) + " bytes dropped: the output was " +
         std::to_string(total_) + " bytes ...]\n" + tail_;
}

}  // namespace smolvm_cli::mcp
