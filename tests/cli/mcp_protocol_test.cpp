// cli/mcp_protocol: the JSON-RPC framing of `smolvm mcp`, from lines as a
// client (or a broken one) writes them.
#include "cli/mcp_protocol.h"

#include <gtest/gtest.h>

namespace smolvm_cli::mcp {
namespace {

using nlohmann::json;
using Kind = Message::Kind;

TEST(McpProtocol, RequestNotificationAndResponseAreTold) {
  const Message req = parse_message(R"({"jsonrpc":"2.0","id":7,"method":"tools/list"})");
  EXPECT_EQ(req.kind, Kind::kRequest);
  EXPECT_EQ(req.id, 7);
  EXPECT_EQ(req.method, "tools/list");
  EXPECT_EQ(req.params, json::object());

  const Message str_id =
      parse_message(R"({"jsonrpc":"2.0","id":"a","method":"ping","params":{"x":1}})");
  EXPECT_EQ(str_id.kind, Kind::kRequest);
  EXPECT_EQ(str_id.id, "a");
  EXPECT_EQ(str_id.params["x"], 1);

  const Message note = parse_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(note.kind, Kind::kNotification);
  EXPECT_TRUE(note.id.is_null());

  EXPECT_EQ(parse_message(R"({"jsonrpc":"2.0","id":1,"result":{}})").kind, Kind::kResponse);
  EXPECT_EQ(parse_message(R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})").kind, Kind::kResponse);
}

TEST(McpProtocol, BrokenLinesGetTheirErrorCode) {
  const Message bad_json = parse_message("{not json");
  EXPECT_EQ(bad_json.kind, Kind::kInvalid);
  EXPECT_EQ(bad_json.error["error"]["code"], kParseError);
  EXPECT_TRUE(bad_json.error["id"].is_null());

  struct Case {
    const char* line;
    int code;
    json id;
    const char* says;
  };
  const Case cases[] = {
      {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", kInvalidRequest, nullptr, "batches"},
      {R"("ping")", kInvalidRequest, nullptr, "JSON object"},
      {R"({"id":3,"method":"ping"})", kInvalidRequest, 3, "jsonrpc must be \"2.0\""},
      {R"({"jsonrpc":"1.0","id":3,"method":"ping"})", kInvalidRequest, 3, "jsonrpc"},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})", kInvalidRequest, nullptr,
       "must be a string or an integer"},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", kInvalidRequest, nullptr, "id=1.5"},
      {R"({"jsonrpc":"2.0","id":4})", kInvalidRequest, 4, "no method"},
      {R"({"jsonrpc":"2.0","id":4,"method":""})", kInvalidRequest, 4, "non-empty string"},
      {R"({"jsonrpc":"2.0","id":4,"method":5})", kInvalidRequest, 4, "method=5"},
      {R"({"jsonrpc":"2.0","id":5,"method":"ping","params":[1]})", kInvalidParams, 5,
       "params=[1]: must be an object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    const Message m = parse_message(c.line);
    ASSERT_EQ(m.kind, Kind::kInvalid);
    EXPECT_EQ(m.error["jsonrpc"], "2.0");
    EXPECT_EQ(m.error["error"]["code"], c.code);
    EXPECT_EQ(m.error["id"], c.id);
    EXPECT_NE(m.error["error"]["message"].get<std::string>().find(c.says), std::string::npos)
        << m.error.dump();
  }
}

TEST(McpProtocol, FrameIsOneLineEvenForNewlinesAndBadUtf8) {
  const json msg = result_response(1, {{"text",
                                        "a\nb\r\n\x01"
                                        "\xff\xfe"}});
  const std::string line = frame(msg);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const json back = json::parse(line);
  EXPECT_EQ(back["id"], 1);
  EXPECT_EQ(back["result"]["text"].get<std::string>().substr(0, 6), "a\nb\r\n\x01");
  // Invalid bytes become U+FFFD, not a failure.
  EXPECT_NE(back["result"]["text"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);
}

TEST(McpProtocol, ResponsesAndNotificationsHaveTheirShape) {
  EXPECT_EQ(error_response("x", kMethodNotFound, "method not found: nope"),
            json::parse(R"({"jsonrpc":"2.0","id":"x",
              "error":{"code":-32601,"message":"method not found: nope"}})"));
  EXPECT_EQ(notification("notifications/progress", {{"progress", 1}}),
            json::parse(R"({"jsonrpc":"2.0","method":"notifications/progress",
              "params":{"progress":1}})"));
}

TEST(McpProtocol, VersionIsTheClientsWhenSpokenElseTheNewest) {
  for (const auto& v : kProtocolVersions) {
    EXPECT_EQ(negotiate_version({{"protocolVersion", v}}), v);
  }
  EXPECT_EQ(negotiate_version({{"protocolVersion", "2099-01-01"}}), kProtocolVersions.front());
  EXPECT_EQ(negotiate_version({{"protocolVersion", 3}}), kProtocolVersions.front());
  EXPECT_EQ(negotiate_version(json::object()), kProtocolVersions.front());
  EXPECT_EQ(kProtocolVersions.front(), "2025-11-25");
}

}  // namespace
}  // namespace smolvm_cli::mcp
