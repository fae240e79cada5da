// cli/mcp_tools: the tools' schemas, the check of a call's arguments
// against them (every refusal names the tool, the field, the value and what
// is allowed) and the typed arguments, with no VM.
#include "cli/mcp_tools.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "smolvm/smolvm.h"

namespace smolvm_cli::mcp {
namespace {

using nlohmann::json;

std::string refusal(const std::string& tool, const json& args) {
  try {
    checked_arguments(tool, args);
  } catch (const ArgumentError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(McpTools, EveryToolHasADescriptionAndAClosedObjectSchema) {
  std::set<std::string> names;
  for (const auto& t : tool_list()) {
    const std::string name = t["name"];
    SCOPED_TRACE(name);
    names.insert(name);
    EXPECT_GT(t["description"].get<std::string>().size(), 40u);
    EXPECT_EQ(t["inputSchema"]["type"], "object");
    EXPECT_EQ(t["inputSchema"]["additionalProperties"], false);
    for (const auto& [key, p] : t["inputSchema"]["properties"].items()) {
      EXPECT_TRUE(p.contains("type")) << key;
      EXPECT_TRUE(p.contains("description")) << key;
    }
    for (const auto& r : t["inputSchema"].value("required", json::array())) {
      EXPECT_TRUE(t["inputSchema"]["properties"].contains(r.get<std::string>())) << r;
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"create_sandbox", "run_command", "write_file",
                                          "read_file", "list_sandboxes", "delete_sandbox",
                                          "expose_port", "snapshot_sandbox", "restore_sandbox"}));
}

TEST(McpTools, RangesAreTheLibrarys) {
  const json& props = tool_list()[0]["inputSchema"]["properties"];
  EXPECT_EQ(props["vcpus"]["minimum"], SMOLVM_VCPU_MIN);
  EXPECT_EQ(props["vcpus"]["maximum"], SMOLVM_VCPU_MAX);
  EXPECT_EQ(props["memory_mib"]["minimum"], SMOLVM_MEM_MIB_MIN);
  EXPECT_EQ(props["memory_mib"]["maximum"], SMOLVM_MEM_MIB_MAX);
  EXPECT_EQ(refusal("create_sandbox", {{"memory_mib", 64}}),
            "create_sandbox.memory_mib=64: must be 128..16384");
}

TEST(McpTools, RefusalsNameFieldValueAndRule) {
  struct Case {
    const char* tool;
    json args;
    const char* message;
  };
  const Case cases[] = {
      {"nope", json::object(), "unknown tool 'nope' (tools: create_sandbox, run_command, "},
      {"create_sandbox", {{"vcpus", 0}}, "create_sandbox.vcpus=0: must be 1..32"},
      {"create_sandbox", {{"vcpus", "2"}}, "create_sandbox.vcpus=\"2\": must be an integer"},
      {"create_sandbox", {{"vcpus", 1.5}}, "create_sandbox.vcpus=1.5: must be an integer"},
      {"create_sandbox",
       {{"network", "host"}},
       "create_sandbox.network=\"host\": must be one of \"none\", \"default\""},
      {"create_sandbox",
       {{"persistent", "yes"}},
       "create_sandbox.persistent=\"yes\": must be a boolean"},
      {"create_sandbox", {{"mem", 512}}, "create_sandbox: unknown argument 'mem' (known: "},
      {"create_sandbox", json::array(), "create_sandbox=[]: must be an object"},
      {"run_command", {{"id", "x"}}, "run_command: command is required"},
      {"run_command",
       {{"id", "x"}, {"command", ""}},
       "run_command.command=\"\": must not be empty"},
      {"run_command",
       {{"id", "x"}, {"command", "ls"}, {"timeout_s", 0}},
       "run_command.timeout_s=0: must be 1..86400"},
      {"run_command",
       {{"id", "x"}, {"command", "ls"}, {"cwd", "tmp"}},
       "run_command.cwd=\"tmp\": must be an absolute path"},
      {"run_command",
       {{"id", "x"}, {"command", "ls"}, {"env", {{"A", 1}}}},
       "run_command.env.A=1: must be a string"},
      {"write_file",
       {{"id", "x"}, {"path", "/a"}, {"content", "x"}, {"encoding", "hex"}},
       "write_file.encoding=\"hex\": must be one of \"text\", \"base64\""},
      {"write_file",
       {{"id", "x"}, {"path", "/a"}, {"content", "x"}, {"mode", 4096}},
       "write_file.mode=4096: must be 0..4095"},
      {"read_file",
       {{"id", "x"}, {"path", "/a"}, {"max_bytes", 0}},
       "read_file.max_bytes=0: must be 1..16777216"},
      {"expose_port",
       {{"id", "x"}, {"guest_port", 70000}},
       "expose_port.guest_port=70000: must be 1..65535"},
      {"snapshot_sandbox",
       {{"id", "x"}, {"name", "Bad Name"}},
       "snapshot_sandbox.name=\"Bad Name\": must match ^[a-z0-9][a-z0-9._-]{0,62}$"},
      {"list_sandboxes", {{"all", true}}, "list_sandboxes: unknown argument 'all' (it takes none)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args.dump());
    EXPECT_EQ(refusal(c.tool, c.args).rfind(c.message, 0), 0u) << refusal(c.tool, c.args);
  }
}

TEST(McpTools, PatternsAreCheckedWithoutRecursionWhateverTheLength) {
  for (const std::string& ok : std::vector<std::string>{"a", "base-1.2_x", std::string(63, 'z')}) {
    EXPECT_NO_THROW(checked_arguments("snapshot_sandbox", {{"id", "x"}, {"name", ok}})) << ok;
  }
  // 64 characters, and a hostile megabyte: refused, not a crash.
  for (const std::string& bad :
       std::vector<std::string>{std::string(64, 'a'), std::string(1 << 20, 'a'), "-a", "a/b"}) {
    EXPECT_EQ(refusal("snapshot_sandbox", {{"id", "x"}, {"name", bad}})
                  .rfind("snapshot_sandbox.name=", 0),
              0u);
  }
  const std::string long_path(1 << 20, 'p');
  EXPECT_NE(refusal("write_file", {{"id", "x"}, {"path", long_path}, {"content", ""}})
                .find("must be an absolute path"),
            std::string::npos);
}

TEST(McpTools, DefaultsAreFilledFromTheSchema) {
  const json a = checked_arguments("run_command", {{"id", "x"}, {"command", "ls"}});
  EXPECT_EQ(a["timeout_s"], 300);
  const RunArgs r = run_args(a);
  EXPECT_EQ(r.timeout_s, 300u);
  EXPECT_TRUE(r.env.empty());
  EXPECT_EQ(r.cwd, "");

  const CreateArgs c = create_args(checked_arguments("create_sandbox", json()));
  EXPECT_EQ(c.vcpus, 0u);  // the library's default
  EXPECT_EQ(c.memory_mib, 0u);
  EXPECT_EQ(c.network, "none");
  EXPECT_FALSE(c.persistent);

  const ReadArgs rd = read_args(checked_arguments("read_file", {{"id", "x"}, {"path", "/a"}}));
  EXPECT_FALSE(rd.base64);
  EXPECT_EQ(rd.max_bytes, 1024u * 1024u);
}

TEST(McpTools, TypedArgumentsCarryWhatWasGiven) {
  const CreateArgs c = create_args(checked_arguments(
      "create_sandbox",
      {{"vcpus", 1}, {"memory_mib", 256.0}, {"network", "default"}, {"persistent", true}}));
  EXPECT_EQ(c.vcpus, 1u);
  EXPECT_EQ(c.memory_mib, 256u);
  EXPECT_EQ(c.network, "auto");
  EXPECT_TRUE(c.persistent);

  const RunArgs r = run_args(checked_arguments(
      "run_command", {{"id", "vm-1"}, {"command", "env"}, {"env", {{"A", "1"}, {"B", "x y"}}}}));
  EXPECT_EQ(r.env, (std::vector<std::string>{"A=1", "B=x y"}));

  const WriteArgs w = write_args(checked_arguments(
      "write_file",
      {{"id", "vm-1"}, {"path", "/bin.dat"}, {"content", "AAEC/w=="}, {"encoding", "base64"}}));
  EXPECT_EQ(w.data, std::string("\x00\x01\x02\xff", 4));
  EXPECT_EQ(w.mode, 0644u);

  const ExposeArgs e =
      expose_args(checked_arguments("expose_port", {{"id", "v"}, {"guest_port", 80}}));
  EXPECT_EQ(e.guest_port, 80u);
  EXPECT_EQ(e.host_port, 0u);
}

TEST(McpTools, ProfileExcludesWhatItSets) {
  for (const json& extra : {json{{"vcpus", 2}}, json{{"memory_mib", 512}}, json{{"image", "py"}},
                            json{{"network", "default"}}}) {
    json args = extra;
    args["profile"] = "/p.yaml";
    SCOPED_TRACE(args.dump());
    try {
      create_args(checked_arguments("create_sandbox", args));
      ADD_FAILURE() << "accepted";
    } catch (const ArgumentError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot be combined with profile"), std::string::npos)
          << e.what();
    }
  }
  const CreateArgs c = create_args(
      checked_arguments("create_sandbox", {{"profile", "/p.yaml"}, {"persistent", true}}));
  EXPECT_EQ(c.profile, "/p.yaml");
}

TEST(McpTools, BadBase64IsRefusedNamingIt) {
  try {
    write_args(checked_arguments(
        "write_file", {{"id", "v"}, {"path", "/a"}, {"content", "@@@"}, {"encoding", "base64"}}));
    ADD_FAILURE() << "accepted";
  } catch (const ArgumentError& e) {
    EXPECT_STREQ(e.what(), "write_file: content=\"@@@\": is not base64 (encoding is \"base64\")");
  }
}

TEST(McpTools, CappedOutputKeepsHeadAndTailAndCountsTheRest) {
  CappedOutput small(10);
  small.append("hello", 5);
  EXPECT_EQ(small.text(), "hello");
  EXPECT_EQ(small.dropped(), 0u);

  CappedOutput out(10);
  const std::string digits = "0123456789abcdefghij";  // 20 bytes
  for (char ch : digits) out.append(&ch, 1);          // byte by byte
  EXPECT_EQ(out.total(), 20u);
  EXPECT_EQ(out.dropped(), 10u);
  EXPECT_EQ(out.text(), "01234\n[... 10 bytes dropped: the output was 20 bytes ...]\nfghij");

  CappedOutput bulk(10);
  bulk.append(digits.data(), digits.size());  // in one piece
  EXPECT_EQ(bulk.text(), out.text());

  CappedOutput big(8);
  const std::string mib(1 << 20, 'x');
  for (int i = 0; i < 64; ++i) big.append(mib.data(), mib.size());
  EXPECT_EQ(big.dropped(), (64ull << 20) - 8);
  EXPECT_LT(big.text().size(), 100u);
}

}  // namespace
}  // namespace smolvm_cli::mcp
