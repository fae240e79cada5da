// JSON payloads: round trips, and refusals that name the field.
#include "protocol/messages.h"

#include <gtest/gtest.h>

namespace smolvm::proto {
namespace {

template <typename T>
T parse_ok(std::string_view json) {
  T out;
  std::string err;
  EXPECT_TRUE(parse(json, out, err)) << json << ": " << err;
  return out;
}

template <typename T>
std::string parse_err(std::string_view json) {
  T out;
  std::string err;
  EXPECT_FALSE(parse(json, out, err)) << json << " was accepted";
  EXPECT_FALSE(err.empty());
  return err;
}

TEST(Messages, HelloRoundTrip) {
  const auto h = parse_ok<Hello>(to_json(Hello{1, "secret", "cli"}));
  EXPECT_EQ(h.version, 1u);
  EXPECT_EQ(h.token, "secret");
  EXPECT_EQ(h.client, "cli");
  EXPECT_EQ(parse_ok<Hello>(R"({"version":1})").token, "");
  EXPECT_NE(parse_err<Hello>("{}").find("missing field 'version'"), std::string::npos);
  EXPECT_NE(parse_err<Hello>(R"({"version":"1"})").find("'version' must be an integer"),
            std::string::npos);
  EXPECT_NE(parse_err<Hello>(R"({"version":-1})").find("'version' is out of range"),
            std::string::npos);
  EXPECT_NE(parse_err<Hello>(R"({"version":4294967296})").find("out of range"), std::string::npos);
  EXPECT_NE(parse_err<Hello>(R"({"version":1,"token":5})").find("'token' must be a string"),
            std::string::npos);
}

TEST(Messages, NotJsonOrNotAnObject) {
  EXPECT_EQ(parse_err<Hello>("{"), "payload is not valid JSON");
  EXPECT_EQ(parse_err<Hello>(""), "payload is not valid JSON");
  EXPECT_EQ(parse_err<Hello>("[1]"), "payload is not a JSON object");
  EXPECT_EQ(parse_err<Hello>("1"), "payload is not a JSON object");
  EXPECT_EQ(parse_err<Hello>("null"), "payload is not a JSON object");
  EXPECT_EQ(parse_err<ExecRequest>("{\"argv\":[\"a\"]} trailing"), "payload is not valid JSON");
}

TEST(Messages, HelloAndHelloOkCarryTheChannelEpoch) {
  EXPECT_EQ(parse_ok<Hello>(to_json(Hello{2, "t", "c", 0xfffffffe})).epoch, 0xfffffffeu);
  EXPECT_EQ(parse_ok<HelloOk>(to_json(HelloOk{2, "a", 1, 9})).epoch, 9u);
  EXPECT_EQ(parse_ok<Hello>(R"({"version":2})").epoch, 0u);  // none: nothing is dropped
  EXPECT_NE(parse_err<HelloOk>(R"({"version":2,"epoch":-1})").find("'epoch' is out of range"),
            std::string::npos);
}

TEST(Messages, HelloOkAndErrorRoundTrip) {
  const auto ok = parse_ok<HelloOk>(to_json(HelloOk{1, "0.1.0", 1 << 20}));
  EXPECT_EQ(ok.agent, "0.1.0");
  EXPECT_EQ(ok.max_payload, 1u << 20);
  const auto e = parse_ok<ErrorMsg>(to_json(ErrorMsg{"EINVAL", "bad thing"}));
  EXPECT_EQ(e.code, "EINVAL");
  EXPECT_EQ(e.message, "bad thing");
  EXPECT_NE(parse_err<ErrorMsg>(R"({"code":"EIO"})").find("'message'"), std::string::npos);
  // Invalid UTF-8 in a message is replaced, not thrown on.
  const auto bad = parse_ok<ErrorMsg>(to_json(ErrorMsg{"EIO", "bytes \xff\xfe"}));
  EXPECT_NE(bad.message.find("bytes"), std::string::npos);
}

TEST(Messages, ExecRequest) {
  ExecRequest r;
  r.argv = {"ls", "-l"};
  r.env = {"A=1"};
  r.cwd = "/tmp";
  r.timeout_ms = 500;
  r.window = 1024;
  const auto back = parse_ok<ExecRequest>(to_json(r));
  EXPECT_EQ(back.argv, r.argv);
  EXPECT_EQ(back.env, r.env);
  EXPECT_EQ(back.cwd, "/tmp");
  EXPECT_EQ(back.timeout_ms, 500u);
  EXPECT_EQ(back.window, 1024u);
  EXPECT_EQ(parse_ok<ExecRequest>(R"({"shell":"echo hi"})").shell, "echo hi");

  EXPECT_NE(parse_err<ExecRequest>("{}").find("exactly one of 'argv'"), std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":[]})").find("'argv'"), std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":["a"],"shell":"b"})").find("exactly one"),
            std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":"ls"})").find("'argv' must be an array"),
            std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":[1]})").find("'argv' must be an array of strings"),
            std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":["a"],"env":["X"]})").find("env entry 'X'"),
            std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":["a"],"env":["=x"]})").find("KEY=VALUE"),
            std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":["a"],"cwd":1})").find("'cwd'"), std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":["a"],"timeout_ms":1.5})").find("'timeout_ms'"),
            std::string::npos);
  EXPECT_NE(parse_err<ExecRequest>(R"({"argv":["a"],"window":-1})").find("'window'"),
            std::string::npos);
}

TEST(Messages, ExitStatus) {
  const auto st = parse_ok<ExitStatus>(to_json(ExitStatus{137, 9, true, 123456789012ull}));
  EXPECT_EQ(st.exit_code, 137);
  EXPECT_EQ(st.signal, 9);
  EXPECT_TRUE(st.timed_out);
  EXPECT_EQ(st.duration_us, 123456789012ull);
  EXPECT_NE(parse_err<ExitStatus>("{}").find("'exit_code'"), std::string::npos);
  EXPECT_NE(parse_err<ExitStatus>(R"({"exit_code":0,"timed_out":1})")
                .find("'timed_out' must be a boolean"),
            std::string::npos);
  EXPECT_EQ(parse_ok<ExitStatus>(R"({"exit_code":-1})").exit_code, -1);
}

TEST(Messages, FileWriteAndRead) {
  const auto w = parse_ok<FileWrite>(to_json(FileWrite{"/a/b", 0755}));
  EXPECT_EQ(w.path, "/a/b");
  EXPECT_EQ(w.mode, 0755u);
  EXPECT_EQ(parse_ok<FileWrite>(R"({"path":"/x"})").mode, 0644u);
  EXPECT_NE(parse_err<FileWrite>("{}").find("missing field 'path'"), std::string::npos);
  EXPECT_NE(parse_err<FileWrite>(R"({"path":"rel"})").find("path 'rel' must be absolute"),
            std::string::npos);
  EXPECT_NE(parse_err<FileWrite>(R"({"path":""})").find("must be absolute"), std::string::npos);
  EXPECT_NE(parse_err<FileWrite>(R"({"path":"/x","mode":4096})").find("mode 4096"),
            std::string::npos);
  const auto r = parse_ok<FileRead>(to_json(FileRead{"/etc/hostname", 77}));
  EXPECT_EQ(r.path, "/etc/hostname");
  EXPECT_EQ(r.window, 77u);
  EXPECT_NE(parse_err<FileRead>(R"({"path":"x"})").find("absolute"), std::string::npos);
}

TEST(Messages, SignalAndVmStop) {
  EXPECT_EQ(parse_ok<SignalMsg>(to_json(SignalMsg{15})).signal, 15);
  EXPECT_NE(parse_err<SignalMsg>(R"({"signal":0})").find("signal 0 must be 1..64"),
            std::string::npos);
  EXPECT_NE(parse_err<SignalMsg>(R"({"signal":65})").find("1..64"), std::string::npos);
  EXPECT_NE(parse_err<SignalMsg>("{}").find("'signal'"), std::string::npos);
  EXPECT_EQ(parse_ok<VmStop>(to_json(VmStop{10000})).timeout_ms, 10000u);
  EXPECT_EQ(parse_ok<VmStop>("{}").timeout_ms, 0u);
}

TEST(Messages, VmSnapshotAndItsAnswer) {
  const auto req = parse_ok<VmSnapshot>(to_json(VmSnapshot{"/state/snapshots/.tmp-x", true}));
  EXPECT_EQ(req.dir, "/state/snapshots/.tmp-x");
  EXPECT_TRUE(req.stop);
  EXPECT_FALSE(parse_ok<VmSnapshot>(R"({"dir":"/d"})").stop);
  EXPECT_NE(parse_err<VmSnapshot>("{}").find("'dir'"), std::string::npos);
  const auto done = parse_ok<VmSnapshotted>(to_json(VmSnapshotted{40u << 20, 3u << 20, 250}));
  EXPECT_EQ(done.state_bytes, 40u << 20);
  EXPECT_EQ(done.disk_bytes, 3u << 20);
  EXPECT_EQ(done.duration_ms, 250u);
}

TEST(Messages, UnknownFieldsAreIgnoredForForwardCompatibility) {
  EXPECT_EQ(parse_ok<Hello>(R"({"version":1,"future":{"x":[1,2]}})").version, 1u);
}

TEST(Messages, DeepNestingDoesNotCrash) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  parse_err<ExecRequest>(deep);
  std::string obj = "{\"argv\":" + deep + "}";
  parse_err<ExecRequest>(obj);
}

}  // namespace
}  // namespace smolvm::proto
