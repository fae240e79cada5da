// The guest's console, kept in a file of bounded size. The VMM writes the
// console into a pipe (not into the file itself, so a guest flooding its
// serial port cannot fill the host's disk); a thread of the supervisor copies
// it into console.log. When console.log reaches kConsoleLogCap it becomes
// console.log.1 (replacing the previous one) and a fresh console.log starts:
// the newest output is kept, at most 2 x kConsoleLogCap on disk.
#pragma once

#include <cstddef>
#include <string>
#include <thread>

namespace smolvm {

inline constexpr size_t kConsoleLogCap = size_t{4} << 20;

// Where the older half of the console goes (`smolvm logs` reads it too).
inline std::string rotated_console_log(const std::string& path) { return path + ".1"; }

class ConsoleLog {
 public:
  // Creates (truncates) path, removes an old rotated file, and makes the
  // pipe. Throws on failure.
  explicit ConsoleLog(std::string path, size_t cap = kConsoleLogCap);
  ~ConsoleLog();
  ConsoleLog(const ConsoleLog&) = delete;
  ConsoleLog& operator=(const ConsoleLog&) = delete;

  // The pipe's write end, for the VMM. Close it (close_write_end) once the
  // VMM has its copy, so the copy ends when the VMM does.
  int write_fd() const { return pipe_w_; }
  void close_write_end();
  // Starts copying. Stops at EOF (the VMM is gone) or at destruction, after
  // copying what the pipe holds then.
  void start();

 private:
  void copy_loop();
  void append(const char* data, size_t len);

  std::string path_, rotated_;
  size_t cap_;
  int file_ = -1;
  size_t written_ = 0;
  int pipe_r_ = -1, pipe_w_ = -1;
  int stop_r_ = -1, stop_w_ = -1;
  std::thread thread_;
};

}  // namespace smolvm
