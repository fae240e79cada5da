#include "protocol/frame.h"

#include <algorithm>
#include <cstring>

namespace smolvm::proto {

bool is_known_type(uint8_t type) {
  switch (static_cast<Type>(type)) {
    case Type::kHello:
    case Type::kHelloOk:
    case Type::kError:
    case Type::kExec:
    case Type::kStdin:
    case Type::kStdout:
    case Type::kStderr:
    case Type::kExit:
    case Type::kSignal:
    case Type::kCredit:
    case Type::kResize:
    case Type::kFileWrite:
    case Type::kFileRead:
    case Type::kData:
    case Type::kDone:
    case Type::kShutdown:
    case Type::kPing:
    case Type::kPong:
    case Type::kVmStop:
    case Type::kVmStopping:
    case Type::kVmPause:
    case Type::kVmPaused:
    case Type::kVmResume:
    case Type::kVmResumed:
    case Type::kVmSnapshot:
    case Type::kVmSnapshotted:
      return true;
  }
  return false;
}

const char* type_name(Type type) {
  switch (type) {
    case Type::kHello:
      return "HELLO";
    case Type::kHelloOk:
      return "HELLO_OK";
    case Type::kError:
      return "ERROR";
    case Type::kExec:
      return "EXEC";
    case Type::kStdin:
      return "STDIN";
    case Type::kStdout:
      return "STDOUT";
    case Type::kStderr:
      return "STDERR";
    case Type::kExit:
      return "EXIT";
    case Type::kSignal:
      return "SIGNAL";
    case Type::kCredit:
      return "CREDIT";
    case Type::kResize:
      return "RESIZE";
    case Type::kFileWrite:
      return "FILE_WRITE";
    case Type::kFileRead:
      return "FILE_READ";
    case Type::kData:
      return "DATA";
    case Type::kDone:
      return "DONE";
    case Type::kShutdown:
      return "SHUTDOWN";
    case Type::kPing:
      return "PING";
    case Type::kPong:
      return "PONG";
    case Type::kVmStop:
      return "VM_STOP";
    case Type::kVmStopping:
      return "VM_STOPPING";
    case Type::kVmPause:
      return "VM_PAUSE";
    case Type::kVmPaused:
      return "VM_PAUSED";
    case Type::kVmResume:
      return "VM_RESUME";
    case Type::kVmResumed:
      return "VM_RESUMED";
    case Type::kVmSnapshot:
      return "VM_SNAPSHOT";
    case Type::kVmSnapshotted:
      return "VM_SNAPSHOTTED";
  }
  return "UNKNOWN";
}

std::string u32_le(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

bool read_u32_le(std::string_view bytes, uint32_t& out) {
  if (bytes.size() != 4) return false;
  out = 0;
  for (int i = 0; i < 4; ++i) out |= uint32_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  return true;
}

void append_header(std::string& out, Type type, uint8_t flags, uint32_t stream,
                   size_t payload_size) {
  out += u32_le(static_cast<uint32_t>(8 + payload_size));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.push_back('\0');
  out.push_back('\0');
  out += u32_le(stream);
}

void append_frame(std::string& out, Type type, uint8_t flags, uint32_t stream,
                  std::string_view payload) {
  append_header(out, type, flags, stream, payload.size());
  out.append(payload.data(), payload.size());
}

std::string encode(const Frame& frame) {
  std::string out;
  out.reserve(kHeaderSize + frame.payload.size());
  append_frame(out, frame.type, frame.flags, frame.stream, frame.payload);
  return out;
}

void Decoder::feed(const void* data, size_t len) {
  if (!error_.empty() || len == 0) return;
  // Compact before growing so a long-lived connection does not keep every
  // byte it ever received.
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(static_cast<const char*>(data), len);
}

Decoder::Result Decoder::next(Frame& out) {
  if (!error_.empty()) return Result::kError;
  const size_t avail = buf_.size() - pos_;
  if (avail < 4) return Result::kNeedMore;
  uint32_t length = 0;
  read_u32_le(std::string_view(buf_).substr(pos_, 4), length);
  if (length < 8 || length > 8 + kMaxPayload) {
    error_ =
        "frame length " + std::to_string(length) + " outside 8.." + std::to_string(8 + kMaxPayload);
    return Result::kError;
  }
  if (avail < 4 + size_t{length}) {
    // Validate the header as soon as it is here, not only when the payload
    // arrives, so garbage is refused early.
    if (avail < kHeaderSize) return Result::kNeedMore;
  }
  const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
  if (!is_known_type(h[4])) {
    error_ = "unknown frame type " + std::to_string(h[4]);
    return Result::kError;
  }
  if (h[6] != 0 || h[7] != 0) {
    error_ = "reserved header bits set";
    return Result::kError;
  }
  if ((h[5] & ~kFlagEnd) != 0) {
    error_ = "unknown frame flags " + std::to_string(h[5]);
    return Result::kError;
  }
  if (avail < 4 + size_t{length}) return Result::kNeedMore;
  out.type = static_cast<Type>(h[4]);
  out.flags = h[5];
  read_u32_le(std::string_view(buf_).substr(pos_ + 8, 4), out.stream);
  out.payload.assign(buf_, pos_ + kHeaderSize, length - 8);
  pos_ += 4 + size_t{length};
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return Result::kFrame;
}

void Decoder::resync_to(Type type) {
  error_.clear();
  // A header without its length: type, flags 0, reserved 0, stream 0.
  const char pattern[8] = {static_cast<char>(type), 0, 0, 0, 0, 0, 0, 0};
  const std::string_view wanted(pattern, sizeof pattern);
  // The frame we are in the middle of (or at) is skipped: search past its
  // first header byte.
  const size_t from = pos_ + 5;
  const size_t at = from < buf_.size() ? buf_.find(wanted, from) : std::string::npos;
  if (at != std::string::npos) {
    pos_ = at - 4;
    return;
  }
  // Keep what could be the start of the header (its length and part of the
  // pattern) and drop the rest, at least the byte we were at, so that a
  // caller resyncing again and again always gets on.
  const size_t after = buf_.size() > pos_ ? buf_.size() - pos_ - 1 : 0;
  const size_t keep = std::min(after, kHeaderSize - 1);
  buf_.erase(0, buf_.size() - keep);
  pos_ = 0;
}

}  // namespace smolvm::proto
