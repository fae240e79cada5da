// Frame codec of the SmolVM agent protocol (docs/protocol.md).
// Shared by the guest agent, the supervisor and the executor-agent plugin;
// depends on nothing but the C++ standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smolvm::proto {

// Version 2 added stdin credit, PTY commands, users and channel epochs; a
// peer of another version is refused with a message naming both
// (docs/protocol.md says why v1 is not served).
inline constexpr uint32_t kVersion = 2;
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxPayload = size_t{1} << 20;
inline constexpr uint32_t kDefaultWindow = 4u << 20;
// Stdin a client may send on a new exec stream before the agent grants more
// with CREDIT (agent to client): what the agent holds per command at most.
inline constexpr uint32_t kStdinWindow = 1u << 20;
inline constexpr uint8_t kFlagEnd = 0x01;

enum class Type : uint8_t {
  kHello = 0x01,
  kHelloOk = 0x02,
  kError = 0x03,
  kExec = 0x10,
  kStdin = 0x11,
  kStdout = 0x12,
  kStderr = 0x13,
  kExit = 0x14,
  kSignal = 0x15,
  kCredit = 0x16,
  kResize = 0x17,  // client -> agent: a PTY command's new window size (Resize)
  kFileWrite = 0x20,
  kFileRead = 0x21,
  kData = 0x22,
  kDone = 0x23,
  kShutdown = 0x30,
  kPing = 0x31,
  kPong = 0x32,
  kVmStop = 0x40,
  kVmStopping = 0x41,
  kVmPause = 0x42,
  kVmPaused = 0x43,
  kVmResume = 0x44,
  kVmResumed = 0x45,
  kVmSnapshot = 0x46,     // client -> supervisor: save the VM into a folder (VmSnapshot)
  kVmSnapshotted = 0x47,  // supervisor -> client: done (VmSnapshotted)
};

bool is_known_type(uint8_t type);
const char* type_name(Type type);

struct Frame {
  Type type = Type::kPing;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;

  bool end() const { return (flags & kFlagEnd) != 0; }
};

// Appends the 12-byte header of a frame whose payload, payload_size bytes,
// the caller appends (or writes) right after it.
void append_header(std::string& out, Type type, uint8_t flags, uint32_t stream,
                   size_t payload_size);
// Appends one encoded frame to out. payload must be at most kMaxPayload.
void append_frame(std::string& out, Type type, uint8_t flags, uint32_t stream,
                  std::string_view payload);
std::string encode(const Frame& frame);

// Incremental decoder: feed bytes as they arrive, take frames as they
// complete. After an error the decoder stays failed (a stream with a broken
// frame cannot be resynchronised).
class Decoder {
 public:
  enum class Result { kFrame, kNeedMore, kError };

  void feed(const void* data, size_t len);
  Result next(Frame& out);
  const std::string& error() const { return error_; }
  size_t buffered() const { return buf_.size() - pos_; }
  // Clears an error and skips to the next place in the bytes where a frame
  // of this type on stream 0, with no flags, begins (or keeps the tail that
  // may begin one). For a channel whose first bytes may be the rest of a
  // frame from an earlier connection (a restored VM): the answer to our
  // HELLO is found after them.
  void resync_to(Type type);

 private:
  std::string buf_;
  size_t pos_ = 0;
  std::string error_;
};

// 4-byte little-endian helpers (CREDIT payload).
std::string u32_le(uint32_t value);
bool read_u32_le(std::string_view bytes, uint32_t& out);

}  // namespace smolvm::proto
