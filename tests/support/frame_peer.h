// The far end of a socket that speaks the real agent protocol
// (protocol/frame.h), for tests of the parts that talk to a supervisor: the
// test plays the supervisor's side with the same frame code, in a thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "protocol/frame.h"

namespace smolvm::test {

// One connection, owned (closed by the destructor).
class FramePeer {
 public:
  explicit FramePeer(int fd) : fd_(fd) {}
  ~FramePeer();
  FramePeer(const FramePeer&) = delete;
  FramePeer& operator=(const FramePeer&) = delete;

  // The next frame, or nullopt after timeout_ms, at EOF or on a bad frame.
  std::optional<proto::Frame> recv(int timeout_ms = 5000);
  // The next frame of this type, skipping others (CREDIT, STDIN...).
  std::optional<proto::Frame> recv_type(proto::Type type, int timeout_ms = 5000);
  bool send(proto::Type type, uint32_t stream, std::string_view payload, uint8_t flags = 0);
  bool send_raw(std::string_view bytes);
  // A guest file's contents as the agent sends them on `stream`: DATA frames
  // of at most `chunk` bytes, the last (empty for an empty file) marked END.
  bool send_file(uint32_t stream, std::string_view contents, size_t chunk);
  // Keeps the connection open, reading and dropping whatever comes, until
  // the other side closes it or timeout_ms passes.
  void hold_open(int timeout_ms = 10000);
  // Closes the connection now (the other side sees EOF).
  void close();

 private:
  int fd_;
  proto::Decoder decoder_;
};

// A Unix socket at path whose first connection `serve` handles in a thread
// of its own. The destructor stops waiting for a connection and joins.
class OneConnectionServer {
 public:
  OneConnectionServer(const std::string& path, std::function<void(FramePeer&)> serve);
  ~OneConnectionServer();
  OneConnectionServer(const OneConnectionServer&) = delete;
  OneConnectionServer& operator=(const OneConnectionServer&) = delete;

 private:
  int listen_fd_;
  std::thread thread_;
};

}  // namespace smolvm::test
