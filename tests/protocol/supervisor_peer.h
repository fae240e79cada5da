// The supervisor's side of the agent protocol, for testing clients of a
// VM's supervisor without a VM: a real Unix socket in a temporary folder,
// served by a thread that answers HELLO (checking the token), VM_STOP and
// FILE_READ of the files it was given. It stands in for the supervisor and
// the guest agent behind it, which need a booted VM: the VM tests
// (tests/ssh) cover the real ones. Options let a test make it refuse, stay
// silent or stop reading, faults a healthy supervisor does not show.
#pragma once

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/fd_io.h"
#include "protocol/frame.h"
#include "protocol/messages.h"

namespace smolvm::test {

class SupervisorPeer {
 public:
  std::string token = "secret";
  std::map<std::string, std::string> files;  // guest path -> contents
  size_t chunk = 1000;                       // DATA frame size for file reads
  bool silent = false;                       // never answers after HELLO_OK
  bool never_reads = false;                  // stops reading after HELLO_OK

  SupervisorPeer() {
    char tmpl[] = "/tmp/svpeer-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/supervisor.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 4);
  }
  ~SupervisorPeer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    for (int fd : conns_) ::close(fd);
    std::filesystem::remove_all(dir_);
  }

  const std::string& path() const { return path_; }
  // Serves the next connection in a thread of its own.
  void serve_one() {
    threads_.emplace_back([this] {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        conns_.push_back(fd);
      }
      serve(fd);
    });
  }
  // Frames of the given type the client sent, as received (stream, payload).
  std::vector<std::pair<uint32_t, std::string>> received(proto::Type type) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<uint32_t, std::string>> out;
    for (const auto& f : received_) {
      if (f.type == type) out.emplace_back(f.stream, f.payload);
    }
    return out;
  }
  std::string hello_client() {
    std::lock_guard<std::mutex> lock(mu_);
    return hello_client_;
  }

 private:
  void send(int fd, proto::Type type, uint8_t flags, uint32_t stream, std::string_view payload) {
    std::string out;
    proto::append_frame(out, type, flags, stream, payload);
    proto::write_all(fd, out);
  }

  void serve(int fd) {
    proto::Decoder dec;
    char buf[65536];
    for (;;) {
      proto::Frame f;
      auto r = dec.next(f);
      if (r == proto::Decoder::Result::kError) return;
      if (r == proto::Decoder::Result::kNeedMore) {
        const long n = proto::read_some(fd, buf, sizeof buf);
        if (n <= 0) return;
        dec.feed(buf, static_cast<size_t>(n));
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(f);
      }
      if (f.type == proto::Type::kHello) {
        proto::Hello h;
        std::string err;
        proto::parse(f.payload, h, err);
        {
          std::lock_guard<std::mutex> lock(mu_);
          hello_client_ = h.client;
        }
        if (h.token != token) {
          send(fd, proto::Type::kError, 0, 0,
               proto::to_json(proto::ErrorMsg{"EPERM", "bad token"}));
          return;
        }
        send(fd, proto::Type::kHelloOk, 0, 0, proto::to_json(proto::HelloOk{}));
        if (never_reads) {
          // Keep the connection open without reading until the test ends.
          char c;
          while (::recv(fd, &c, 1, MSG_PEEK) > 0 && !stopping_) ::usleep(10000);
          return;
        }
        continue;
      }
      if (silent) continue;
      if (f.type == proto::Type::kVmStop) {
        send(fd, proto::Type::kVmStopping, 0, 0, "{}");
      } else if (f.type == proto::Type::kFileRead) {
        proto::FileRead m;
        std::string err;
        proto::parse(f.payload, m, err);
        const auto it = files.find(m.path);
        if (it == files.end()) {
          send(fd, proto::Type::kError, 0, f.stream,
               proto::to_json(proto::ErrorMsg{"ENOTFOUND", m.path + ": no such file"}));
          continue;
        }
        const std::string& data = it->second;
        size_t off = 0;
        do {
          const size_t n = std::min(chunk, data.size() - off);
          const bool last = off + n == data.size();
          send(fd, proto::Type::kData, last ? proto::kFlagEnd : 0, f.stream, data.substr(off, n));
          off += n;
        } while (off < data.size());
      }
    }
  }

  std::string dir_, path_;
  int listen_fd_ = -1;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> threads_;
  std::vector<proto::Frame> received_;
  std::string hello_client_;
  std::atomic<bool> stopping_{false};
};

}  // namespace smolvm::test
