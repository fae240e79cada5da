// fc_copy_time SRC DIR [RUNS]: times how the Firecracker backend makes an
// isolated VM's disk from SRC in DIR (clone_file: reflink if DIR's file
// system shares extents, else a sparse copy), and the sparse copy alone.
// Prints the median wall time of RUNS (default 3) and the space allocated.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "plugins/vmm-firecracker/fc_disk.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Free space of the file system holding path, in MiB: a reflink shares
// extents, so only this shows what a copy really costs.
double free_mib(const std::string& path) {
  struct statvfs vfs {};
  statvfs(path.c_str(), &vfs);
  return static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize) / (1 << 20);
}

long long allocated_mib(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return static_cast<long long>(st.st_blocks) * 512 / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SRC DIR [RUNS]\n", argv[0]);
    return 2;
  }
  const std::string src = argv[1], dst = std::string(argv[2]) + "/fc-copy-time.raw";
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  struct stat st {};
  if (stat(src.c_str(), &st) != 0) {
    std::perror(src.c_str());
    return 1;
  }
  std::printf("source %s: %lld MiB, %lld MiB allocated\n", src.c_str(),
              static_cast<long long>(st.st_size >> 20), allocated_mib(src));
  for (const bool clone : {true, false}) {
    std::vector<double> times;
    double used_mib = 0;
    const char* method = "sparse copy";
    for (int i = 0; i < runs; ++i) {
      unlink(dst.c_str());
      std::string error;
      smolvm_fc::CopyMethod used = smolvm_fc::CopyMethod::kSparseCopy;
      sync();
      const double before = free_mib(argv[2]);
      const auto t = std::chrono::steady_clock::now();
      const bool ok = clone ? smolvm_fc::clone_file(src, dst, used, error)
                            : smolvm_fc::sparse_copy(src, dst, error);
      times.push_back(seconds_since(t) * 1000);
      sync();
      used_mib = before - free_mib(argv[2]);
      if (!ok) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
      }
      method = smolvm_fc::copy_method_name(used);
    }
    std::sort(times.begin(), times.end());
    std::printf(
        "%-26s %-12s median %8.2f ms (min %.2f, max %.2f, %d runs); %lld MiB in st_blocks, "
        "%.0f MiB of free space used\n",
        clone ? "clone_file (prepare_disk)" : "sparse_copy", method, times[times.size() / 2],
        times.front(), times.back(), runs, allocated_mib(dst), used_mib);
    unlink(dst.c_str());
  }
  return 0;
}
