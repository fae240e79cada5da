// FILE_WRITE and FILE_READ streams.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/guest/agent/agent_client.h"

namespace smolvm::test {
namespace {

using proto::Type;

class AgentFiles : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(agent.hello()); }

  StreamResult write_file(uint32_t stream, const std::string& path, uint32_t mode,
                          std::string_view data, size_t chunk = 1 << 20) {
    Collector c(agent);
    c.track(stream);
    agent.send(Type::kFileWrite, stream, proto::to_json(proto::FileWrite{path, mode}));
    do {
      const size_t n = std::min(chunk, data.size());
      agent.send(Type::kData, stream, data.substr(0, n), n == data.size() ? proto::kFlagEnd : 0);
      data.remove_prefix(n);
    } while (!data.empty());
    EXPECT_TRUE(c.wait_all());
    return c[stream];
  }

  StreamResult read_file(uint32_t stream, const std::string& path, uint32_t window = 0) {
    Collector c(agent);
    c.track(stream, window);
    agent.send(Type::kFileRead, stream, proto::to_json(proto::FileRead{path, window}));
    EXPECT_TRUE(c.wait_all());
    return c[stream];
  }

  static std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  AgentProcess agent;
  TempDir dir;
};

TEST_F(AgentFiles, ThreeMiBBinaryRoundTripWithModeAndParents) {
  const std::string path = dir.path() + "/a/b/c/data.bin";
  const std::string data = random_bytes(3 << 20, 42);
  auto w = write_file(1, path, 0600, data);
  EXPECT_TRUE(w.done) << (w.error ? w.error->message : "");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(static_cast<size_t>(st.st_size), data.size());
  EXPECT_TRUE(slurp(path) == data);
  // No temporary file is left next to it.
  size_t entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path() + "/a/b/c")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);

  // Read back with a 1 MiB window: credit is needed along the way.
  auto r = read_file(2, path, 1 << 20);
  EXPECT_TRUE(r.data_end);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data);
}

TEST_F(AgentFiles, WriteReplacesAnExistingFileAtomically) {
  const std::string path = dir.path() + "/f.txt";
  std::ofstream(path) << "old contents";
  auto w = write_file(1, path, 0644, "new", 1);
  EXPECT_TRUE(w.done);
  EXPECT_EQ(slurp(path), "new");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(AgentFiles, EmptyFileWithEndOnTheRequest) {
  const std::string path = dir.path() + "/empty";
  Collector c(agent);
  c.track(1);
  agent.send(Type::kFileWrite, 1, proto::to_json(proto::FileWrite{path, 0640}), proto::kFlagEnd);
  ASSERT_TRUE(c.wait_all());
  EXPECT_TRUE(c[1].done);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  auto r = read_file(2, path);
  EXPECT_TRUE(r.data_end);
  EXPECT_EQ(r.out, "");
}

TEST_F(AgentFiles, ReadRespectsTheWindow) {
  const std::string path = dir.path() + "/w";
  const std::string data = random_bytes(200000, 3);
  std::ofstream(path, std::ios::binary) << data;
  Collector c(agent);
  c.track(1, 50000, /*auto_credit=*/false);
  agent.send(Type::kFileRead, 1, proto::to_json(proto::FileRead{path, 50000}));
  while (c[1].received < 50000 && c.step(5000)) {
  }
  EXPECT_EQ(c[1].received, 50000u);
  EXPECT_FALSE(c.step(200)) << "agent read past the window";
  agent.send_credit(1, 150000);
  c[1].granted += 150000;
  ASSERT_TRUE(c.wait_all());
  EXPECT_TRUE(c[1].data_end);
  EXPECT_TRUE(c[1].out == data);
}

TEST_F(AgentFiles, MissingFileIsENOTFOUNDNamingThePath) {
  const std::string path = dir.path() + "/no/such/file";
  auto r = read_file(1, path);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "ENOTFOUND");
  EXPECT_NE(r.error->message.find(path), std::string::npos) << r.error->message;
}

TEST_F(AgentFiles, DirectoriesAreRefused) {
  auto r = read_file(1, dir.path());
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "EINVAL");
  auto w = write_file(2, dir.path(), 0644, "x");
  ASSERT_TRUE(w.error);
  EXPECT_EQ(w.error->code, "EINVAL");
}

TEST_F(AgentFiles, BadRequestsAreEINVALNamingTheField) {
  Collector c(agent);
  c.track(1);
  c.track(2);
  c.track(3);
  agent.send(Type::kFileWrite, 1, R"({"path":"relative/x"})");
  agent.send(Type::kFileWrite, 2, R"({"path":"/x","mode":99999})");
  agent.send(Type::kFileRead, 3, R"({"window":5})");
  ASSERT_TRUE(c.wait_all());
  ASSERT_TRUE(c[1].error && c[2].error && c[3].error);
  EXPECT_EQ(c[1].error->code, "EINVAL");
  EXPECT_NE(c[1].error->message.find("path"), std::string::npos);
  EXPECT_NE(c[2].error->message.find("mode"), std::string::npos);
  EXPECT_NE(c[3].error->message.find("path"), std::string::npos);
}

TEST_F(AgentFiles, ParentThatIsAFileFails) {
  const std::string blocker = dir.path() + "/file";
  std::ofstream(blocker) << "x";
  auto w = write_file(1, blocker + "/child", 0644, "data");
  ASSERT_TRUE(w.error);
  EXPECT_EQ(w.error->code, "EINVAL");
}

TEST_F(AgentFiles, AbortedWriteLeavesNothingBehind) {
  const std::string path = dir.path() + "/partial";
  agent.send(Type::kFileWrite, 1, proto::to_json(proto::FileWrite{path, 0644}));
  agent.send(Type::kData, 1, "some bytes");
  agent.send(Type::kError, 1, proto::to_json(proto::ErrorMsg{"EIO", "client gave up"}));
  agent.send(Type::kPing, 0, "sync");
  auto f = agent.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, Type::kPong);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST_F(AgentFiles, DisconnectDuringWriteLeavesNothingBehind) {
  const std::string path = dir.path() + "/partial";
  agent.send(Type::kFileWrite, 1, proto::to_json(proto::FileWrite{path, 0644}));
  agent.send(Type::kData, 1, "some bytes");
  agent.close_channel();
  ASSERT_TRUE(agent.wait_exit(5000));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace smolvm::test
