#include "tests/support/processes.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

namespace smolvm::test {

namespace {

// Runs command through popen; its wait status, or -1 if it could not start.
int read_popen(const std::string& command, std::string* out) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  std::string text;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int st = pclose(p);
  if (out) *out = std::move(text);
  return st;
}

}  // namespace

bool pid_alive(int64_t pid) {
  if (pid <= 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0) return false;
  // A zombie is not alive.
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(f, s)) return false;
  const auto close = s.rfind(')');
  return close == std::string::npos || close + 2 >= s.size() || s[close + 2] != 'Z';
}

bool wait_pid_gone(pid_t pid, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pid_alive(pid)) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string status_field(int64_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line, want = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(want, 0) == 0) {
      const auto start = line.find_first_not_of(" \t", want.size());
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "";
}

long status_kb(int64_t pid, const char* field) {
  const std::string v = status_field(pid, field);
  return v.empty() ? -1 : std::stol(v);
}

int sh(const std::string& command, std::string* out) {
  const int st = read_popen(command + " 2>&1", out);
  return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string output_of(const std::string& command) {
  std::string out;
  read_popen(command, &out);
  return out;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
  }
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace smolvm::test
