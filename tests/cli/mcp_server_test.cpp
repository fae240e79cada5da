// `smolvm mcp` itself, through the real binary with no VM: a session's
// lines in, and on stdout only protocol messages, one per line, each
// request answered (or refused with its code) and no answer to a
// notification or a response. The SDK's client on real VMs is
// vm.cli.mcp_client (tests/cli/mcp/).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/cli_fixture.h"

namespace {

using nlohmann::json;

class McpServer : public CliTest {
 protected:
  // Runs a session of these lines; returns the responses by id (null ids
  // under "null", in order) and fails on any stdout line that is not one.
  std::map<std::string, std::vector<json>> session(const std::vector<std::string>& lines,
                                                   std::string* log = nullptr) {
    const std::string in = dir_ + "/in.jsonl";
    std::ofstream(in) << [&] {
      std::string all;
      for (const auto& l : lines) all += l + "\n";
      return all;
    }();
    // stderr apart from stdout: cli() appends 2>&1, which then applies to
    // the exit alone.
    const CliResult r = cli("mcp < '" + in + "' 2>'" + dir_ + "/err.log'; exit $?");
    EXPECT_EQ(r.code, 0) << r.output;
    if (log) {
      std::ifstream err(dir_ + "/err.log");
      *log = std::string(std::istreambuf_iterator<char>(err), {});
    }
    std::map<std::string, std::vector<json>> by_id;
    std::istringstream out(r.output);
    for (std::string line; std::getline(out, line);) {
      const json m = json::parse(line, nullptr, false);
      EXPECT_FALSE(m.is_discarded()) << "not JSON on stdout: " << line;
      if (m.is_discarded()) continue;
      EXPECT_EQ(m["jsonrpc"], "2.0") << line;
      by_id[m["id"].dump()].push_back(m);
    }
    return by_id;
  }
};

TEST_F(McpServer, AnswersEachRequestOnStdoutAndLogsOnStderr) {
  std::string log;
  auto r = session(
      {R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"gtest","version":"1"}}})",
       R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
       R"({"jsonrpc":"2.0","id":2,"method":"ping"})",
       R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})",
       R"({"jsonrpc":"2.0","id":4,"method":"resources/list"})",
       R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_sandboxes"}})",
       R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"run_command","arguments":{"id":"nope","command":"true"}}})",
       R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{}}})",
       R"({"jsonrpc":"2.0","id":"r","result":{}})", "", "not json",
       R"([{"jsonrpc":"2.0","id":8,"method":"ping"}])"},
      &log);
  ASSERT_EQ(r["1"].size(), 1u);
  EXPECT_EQ(r["1"][0]["result"]["protocolVersion"], "2024-11-05");
  EXPECT_EQ(r["1"][0]["result"]["serverInfo"]["name"], "smolvm");
  EXPECT_EQ(r["2"][0]["result"], json::object());
  EXPECT_EQ(r["3"][0]["result"]["tools"].size(), 9u);
  EXPECT_EQ(r["4"][0]["error"]["code"], -32601);
  EXPECT_EQ(r["4"][0]["error"]["message"], "method not found: resources/list");
  EXPECT_EQ(r["5"][0]["result"]["isError"], false);
  EXPECT_EQ(r["5"][0]["result"]["structuredContent"]["sandboxes"], json::array());
  EXPECT_EQ(r["6"][0]["result"]["isError"], true);
  const std::string why = r["6"][0]["result"]["content"][0]["text"];
  EXPECT_EQ(why.rfind("run_command failed: ", 0), 0u) << why;
  EXPECT_NE(why.find("nope"), std::string::npos) << why;
  EXPECT_NE(why.find("(ENOTFOUND)"), std::string::npos) << why;
  EXPECT_EQ(r["7"][0]["error"]["code"], -32602);
  // The notification and the client's response get nothing; the two
  // broken lines get an error each with a null id.
  EXPECT_EQ(r.count("\"r\""), 0u);
  ASSERT_EQ(r["null"].size(), 2u);
  EXPECT_EQ(r["null"][0]["error"]["code"], -32700);
  EXPECT_EQ(r["null"][1]["error"]["code"], -32600);
  EXPECT_EQ(r.size(), 8u);  // ids 1-7 and null
  EXPECT_NE(log.find("smolvm mcp: client gtest, protocol 2024-11-05"), std::string::npos) << log;
  EXPECT_NE(log.find("stopping after the end of stdin"), std::string::npos) << log;
}

TEST_F(McpServer, AnUnknownVersionGetsTheNewestAndAnEmptyInputEndsCleanly) {
  auto r = session(
      {R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01"}})"});
  EXPECT_EQ(r["1"][0]["result"]["protocolVersion"], "2025-11-25");
  EXPECT_TRUE(session({}).empty());
}

}  // namespace
