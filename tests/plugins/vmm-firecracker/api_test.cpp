// The API client against a real HTTP/1.1 server on a Unix socket in the
// test, answering as Firecracker does (204 on success, 400 with
// {"fault_message": ...} on bad input): no firecracker binary runs here.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "plugins/vmm-firecracker/fc_api.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_socket.h"

namespace {

struct Seen {
  std::string request_line;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct Answer {
  int status;
  std::string body;
};

// Serves the scripted answers in order, on as many connections as the
// client opens (curl keeps one alive across requests).
class HttpServer {
 public:
  HttpServer(const std::string& path, std::vector<Answer> answers)
      : answers_(std::move(answers)), lfd_(smolvm::test::listen_unix(path)) {
    pipe2(wake_, O_CLOEXEC);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpServer() {
    (void)!write(wake_[1], "x", 1);
    thread_.join();
    for (int fd : {lfd_, wake_[0], wake_[1]}) close(fd);
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void serve() {
    std::map<int, std::string> conns;  // fd -> bytes not yet parsed
    for (;;) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {lfd_, POLLIN, 0}};
      for (auto& [fd, buf] : conns) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) break;
      if (fds[1].revents) {
        const int c = accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) conns[c];
      }
      for (size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        const int fd = fds[i].fd;
        char chunk[65536];
        const ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) {
          close(fd);
          conns.erase(fd);
          continue;
        }
        conns[fd].append(chunk, static_cast<size_t>(n));
        while (answer_one(fd, conns[fd])) {
        }
      }
    }
    for (auto& [fd, buf] : conns) close(fd);
  }

  // Parses one complete request from buf, if there is one, and answers it.
  bool answer_one(int fd, std::string& buf) {
    const auto end = buf.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    Seen s;
    size_t pos = buf.find("\r\n");
    s.request_line = buf.substr(0, pos);
    while (pos < end) {
      const size_t next = buf.find("\r\n", pos + 2);
      const std::string h = buf.substr(pos + 2, next - pos - 2);
      const auto colon = h.find(':');
      std::string name = h.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      std::string value = colon == std::string::npos ? "" : h.substr(colon + 1);
      while (!value.empty() && value[0] == ' ') value.erase(0, 1);
      s.headers[name] = value;
      pos = next;
    }
    const size_t length =
        s.headers.count("content-length") ? std::stoul(s.headers["content-length"]) : 0;
    if (buf.size() < end + 4 + length) return false;
    s.body = buf.substr(end + 4, length);
    buf.erase(0, end + 4 + length);
    Answer a{500, "{\"fault_message\": \"the test server has no answer left\"}"};
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (seen_.size() < answers_.size()) a = answers_[seen_.size()];
      seen_.push_back(s);
    }
    std::string reply = "HTTP/1.1 " + std::to_string(a.status) +
                        (a.status == 204 ? " No Content" : " Bad Request") + "\r\n";
    if (a.status != 204) {
      reply +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(a.body.size()) +
          "\r\n";
    }
    reply += "\r\n" + (a.status == 204 ? std::string() : a.body);
    smolvm::test::write_all(fd, reply);
    return true;
  }

  std::vector<Answer> answers_;
  int lfd_;
  int wake_[2] = {-1, -1};
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::thread thread_;
};

TEST(FaultMessage, ReadsFirecrackersErrorBody) {
  EXPECT_EQ(smolvm_fc::fault_message(R"({"fault_message": "Invalid block device path"})"),
            "Invalid block device path");
  EXPECT_EQ(smolvm_fc::fault_message(R"({"fault_message":"a \"quoted\"\nline"})"),
            "a \"quoted\"\nline");
  EXPECT_EQ(smolvm_fc::fault_message(R"({"other": "x"})"), "");
  EXPECT_EQ(smolvm_fc::fault_message(R"({"fault_message": 42})"), "");
  EXPECT_EQ(smolvm_fc::fault_message(R"(["fault_message"])"), "");
  EXPECT_EQ(smolvm_fc::fault_message("not json"), "");
  EXPECT_EQ(smolvm_fc::fault_message(""), "");
}

TEST(FaultMessage, FailureTextNamesTheEndpoint) {
  const smolvm_fc::ApiRequest req{"PUT", "/drives/rootfs", "{}"};
  EXPECT_EQ(smolvm_fc::describe_failure(req, 400, R"({"fault_message": "No such file"})"),
            "PUT /drives/rootfs: HTTP 400: No such file");
  EXPECT_EQ(smolvm_fc::describe_failure(req, 500, "oops"), "PUT /drives/rootfs: HTTP 500: oops");
  EXPECT_EQ(smolvm_fc::describe_failure(req, 502, ""), "PUT /drives/rootfs: HTTP 502: (no body)");
}

TEST(ApiClient, PutsJsonBodies) {
  smolvm::test::TempDir dir;
  const std::string sock = dir / "api.sock";
  HttpServer server(sock, {{204, ""}, {204, ""}});
  smolvm_fc::ApiClient api(sock);
  std::string error;
  const smolvm_fc::ApiRequest a{"PUT", "/machine-config", R"({"vcpu_count":2,"mem_size_mib":512})"};
  const smolvm_fc::ApiRequest b{"PUT", "/actions", R"({"action_type":"InstanceStart"})"};
  ASSERT_TRUE(api.send(a, error)) << error;
  ASSERT_TRUE(api.send(b, error)) << error;
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].request_line, "PUT /machine-config HTTP/1.1");
  EXPECT_EQ(seen[0].body, a.body);
  EXPECT_EQ(seen[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(seen[0].headers.at("content-length"), std::to_string(a.body.size()));
  EXPECT_EQ(seen[0].headers.count("expect"), 0u);
  EXPECT_EQ(seen[0].headers.count("transfer-encoding"), 0u);
  EXPECT_EQ(seen[1].request_line, "PUT /actions HTTP/1.1");
  EXPECT_EQ(seen[1].body, b.body);
}

TEST(ApiClient, ReportsTheFaultMessageAndTheEndpoint) {
  smolvm::test::TempDir dir;
  const std::string sock = dir / "api.sock";
  HttpServer server(
      sock,
      {{204, ""},
       {400,
        R"j({"fault_message": "Invalid block device path /x: No such file or directory (os error 2)"})j"}});
  smolvm_fc::ApiClient api(sock);
  std::string error;
  ASSERT_TRUE(api.send({"PUT", "/boot-source", R"({"kernel_image_path":"/k"})"}, error)) << error;
  EXPECT_FALSE(api.send({"PUT", "/drives/rootfs", R"({"drive_id":"rootfs"})"}, error));
  EXPECT_EQ(error,
            "PUT /drives/rootfs: HTTP 400: Invalid block device path /x: No such file or "
            "directory (os error 2)");
}

TEST(ApiClient, SendsLargeBodiesWithoutWaitingForContinue) {
  // curl waits up to a second for "100 Continue" on bodies over 1 KiB unless
  // told not to; Firecracker never sends it.
  smolvm::test::TempDir dir;
  const std::string sock = dir / "api.sock";
  HttpServer server(sock, {{204, ""}});
  smolvm_fc::ApiClient api(sock);
  const std::string body =
      R"({"kernel_image_path":"/k","boot_args":")" + std::string(4000, 'a') + "\"}";
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(api.send({"PUT", "/boot-source", body}, error)) << error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(server.seen()[0].body, body);
}

TEST(ApiClient, NamesTheSocketWhenNothingListens) {
  smolvm::test::TempDir dir;
  const std::string sock = dir / "api.sock";
  smolvm_fc::ApiClient api(sock);
  std::string error;
  EXPECT_FALSE(api.send({"PUT", "/actions", "{}"}, error));
  EXPECT_NE(error.find("PUT /actions on " + sock), std::string::npos) << error;
}

}  // namespace
