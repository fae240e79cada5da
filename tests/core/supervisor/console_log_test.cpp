// The supervisor's console copy: whatever the guest writes, the log on disk
// stays under its cap and keeps the newest output.
#include "core/supervisor/console_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(ConsoleLog, RotatesAtTheCapAndKeepsTheNewestBytes) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("smolvm-console-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "console.log").string();
  {
    std::ofstream(smolvm::rotated_console_log(path)) << "stale from the last boot";
    smolvm::ConsoleLog log(path, 1000);
    EXPECT_FALSE(std::filesystem::exists(smolvm::rotated_console_log(path)));
    const int w = ::dup(log.write_fd());
    log.close_write_end();
    log.start();
    // 10 000 bytes: "0000\n0001\n..." so the order of what is kept shows.
    std::string all;
    for (int i = 0; i < 2000; ++i) {
      char line[8];
      std::snprintf(line, sizeof line, "%04d\n", i);
      all += line;
    }
    ASSERT_EQ(::write(w, all.data(), all.size()), static_cast<ssize_t>(all.size()));
    ::close(w);  // EOF: the copy ends
  }
  const std::string cur = slurp(path), old = slurp(smolvm::rotated_console_log(path));
  EXPECT_LE(cur.size(), 1000u);
  EXPECT_EQ(old.size(), 1000u);
  // The newest bytes, in order, end the two files.
  EXPECT_EQ(cur.substr(cur.size() - 5), "1999\n");
  EXPECT_EQ((old + cur).substr(0, 4), std::to_string(2000 - (old.size() + cur.size()) / 5));
  std::filesystem::remove_all(dir);
}
