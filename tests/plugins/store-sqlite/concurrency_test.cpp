// concurrency_test.cpp - many processes on one fresh store file at once:
// no "database is locked", no lost or duplicated row, no address handed out
// twice, and exactly one winner per contended id.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "store_fixture.h"

namespace smolvm::store_test {
namespace {

constexpr int kChildren = 16;
constexpr int kVmsPerChild = 50;

struct ChildResult {
  int status = 0;      // from waitpid
  std::string output;  // what the child wrote: errors, or data for the parent
};

// Forks n children that all block on a pipe until every one exists, then run
// body(k, out) together. A child reports through out and its exit code. The
// parent must hold no store handle across fork: SQLite's POSIX locks are per
// process, so each child opens its own handle after the fork.
std::vector<ChildResult> run_children(int n, const std::function<int(int, std::string&)>& body) {
  int barrier[2];
  if (pipe(barrier) != 0) return {};
  std::vector<pid_t> pids;
  std::vector<int> outs;
  for (int k = 0; k < n; ++k) {
    int out[2];
    if (pipe(out) != 0) break;
    pid_t pid = fork();
    if (pid == 0) {
      close(barrier[1]);
      close(out[0]);
      for (int fd : outs) close(fd);
      alarm(60);  // a hung child fails the test instead of hanging it
      char c;
      while (read(barrier[0], &c, 1) < 0) {
      }
      std::string text;
      int rc = 1;
      try {
        rc = body(k, text);
      } catch (...) {
        text += "exception\n";
      }
      for (size_t done = 0; done < text.size();) {
        ssize_t w = write(out[1], text.data() + done, text.size() - done);
        if (w <= 0) break;
        done += static_cast<size_t>(w);
      }
      _exit(rc);  // no gtest or sanitizer teardown in the child
    }
    close(out[1]);
    if (pid < 0) {
      close(out[0]);
      break;
    }
    pids.push_back(pid);
    outs.push_back(out[0]);
  }
  close(barrier[0]);
  close(barrier[1]);  // EOF releases every child at once

  std::vector<ChildResult> results(pids.size());
  for (size_t k = 0; k < pids.size(); ++k) {
    char buf[4096];
    ssize_t r;
    while ((r = read(outs[k], buf, sizeof buf)) > 0) results[k].output.append(buf, r);
    close(outs[k]);
    waitpid(pids[k], &results[k].status, 0);
  }
  return results;
}

void expect_all_succeeded(const std::vector<ChildResult>& results, int n) {
  ASSERT_EQ(results.size(), static_cast<size_t>(n));
  for (size_t k = 0; k < results.size(); ++k) {
    EXPECT_TRUE(WIFEXITED(results[k].status) && WEXITSTATUS(results[k].status) == 0)
        << "child " << k << " status " << results[k].status << ": " << results[k].output;
  }
}

std::string vm_name(int child, int i) {
  return "c" + std::to_string(child) + "-vm" + std::to_string(i);
}

using StoreConcurrency = StoreTest;

// Each child inserts 50 VMs, leases an address, adds a forward and a process
// for each, moves it created -> starting by compare-and-set, and deletes
// every other one right away, so freed addresses are reused while others
// are being taken.
int create_and_delete(const smolvm_store_vtable* vt, const std::string& path, int k,
                      std::string& out) {
  smolvm_plugin_error err{};
  void* s = nullptr;
  if (vt->open(&s, path.c_str(), &err) != 0) {
    out = std::string("open: ") + err.message;
    return 1;
  }
  StoreClient c{vt, s, &err};
  const uint32_t first = ip_num("172.16.0.2"), last = ip_num("172.16.3.254");
  auto check = [&](int rc, const std::string& what) {
    if (rc != 0) out += what + ": " + std::to_string(rc) + " " + err.message + "\n";
    return rc == 0;
  };
  for (int i = 0; i < kVmsPerChild; ++i) {
    std::string id = vm_name(k, i);
    uint32_t ip = 0;
    uint32_t port = 20000 + static_cast<uint32_t>(k * kVmsPerChild + i);
    bool ok = check(c.insert(id.c_str()), "insert " + id) &&
              check(c.acquire(id.c_str(), first, last, &ip), "lease " + id) &&
              check(c.forward(id.c_str(), "tcp", "127.0.0.1", port, 22), "forward " + id) &&
              check(c.set_process(id.c_str(), "vmm", getpid(), i), "process " + id) &&
              check(c.update(id.c_str(), "starting", "created"), "update " + id) &&
              (i % 2 == 0 || check(c.del(id.c_str()), "delete " + id));
    if (!ok) break;
  }
  vt->close(s);
  return out.empty() ? 0 : 1;
}

TEST_F(StoreConcurrency, SixteenProcessesCreateAndDeleteAtOnce) {
  auto start = std::chrono::steady_clock::now();
  // The file does not exist yet: the children also race to create and
  // migrate it.
  std::vector<ChildResult> results = run_children(
      kChildren, [&](int k, std::string& out) { return create_and_delete(vt_, db_path_, k, out); });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("seconds", std::to_string(seconds));
  expect_all_succeeded(results, kChildren);

  StoreClient c = open();
  std::set<std::string> expected;
  for (int k = 0; k < kChildren; ++k) {
    for (int i = 0; i < kVmsPerChild; i += 2) expected.insert(vm_name(k, i));
  }
  std::vector<Vm> vms = c.vms();
  std::multiset<std::string> ids;
  for (const Vm& vm : vms) {
    ids.insert(vm.id);
    EXPECT_EQ(vm.state, "starting") << vm.id;
  }
  EXPECT_EQ(vms.size(), expected.size());
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), expected);
  EXPECT_EQ(ids.size(), expected.size()) << "duplicate ids";

  std::vector<Lease> leases = c.leases();
  std::set<std::string> lease_ips, lease_vms;
  for (const Lease& l : leases) {
    EXPECT_TRUE(lease_ips.insert(l.ip).second) << "address leased twice: " << l.ip;
    EXPECT_TRUE(lease_vms.insert(l.vm_id).second) << "vm with two leases: " << l.vm_id;
    EXPECT_GE(ip_num(l.ip.c_str()), ip_num("172.16.0.2")) << l.ip;
    EXPECT_LE(ip_num(l.ip.c_str()), ip_num("172.16.3.254")) << l.ip;
  }
  EXPECT_EQ(lease_vms, expected) << "every remaining VM has exactly one lease";
  EXPECT_EQ(c.forwards().size(), expected.size());
  EXPECT_EQ(c.processes().size(), expected.size());
  EXPECT_EQ(sqlite_int(db_path_, "SELECT count(*) FROM schema_version"), 1);
  EXPECT_EQ(sqlite_int(db_path_,
                       "SELECT count(*) FROM pragma_integrity_check WHERE "
                       "integrity_check = 'ok'"),
            1);
}

// All children insert the same 50 ids (each from a different starting
// point), then lease an address for every one of them.
TEST_F(StoreConcurrency, SixteenProcessesRaceForTheSameIds) {
  const uint32_t first = ip_num("172.16.0.2"), last = ip_num("172.16.0.254");
  std::vector<ChildResult> results = run_children(kChildren, [&](int k, std::string& out) {
    smolvm_plugin_error err{};
    void* s = nullptr;
    if (vt_->open(&s, db_path_.c_str(), &err) != 0) {
      out = std::string("E open: ") + err.message + "\n";
      return 1;
    }
    StoreClient c{vt_, s, &err};
    int rc = 0;
    for (int j = 0; j < kVmsPerChild; ++j) {
      std::string id = "shared-" + std::to_string((j + k * 3) % kVmsPerChild);
      int r = c.insert(id.c_str());
      if (r == 0) {
        out += "W " + id + "\n";
      } else if (r != SMOLVM_EEXISTS) {
        out += "E insert " + id + ": " + err.message + "\n";
        rc = 1;
      }
    }
    for (int j = 0; j < kVmsPerChild && rc == 0; ++j) {
      std::string id = "shared-" + std::to_string(j);
      uint32_t ip = 0;
      if (c.acquire(id.c_str(), first, last, &ip) != 0) {
        out += "E lease " + id + ": " + err.message + "\n";
        rc = 1;
      } else {
        out += "L " + id + " " + ip_str(ip) + "\n";
      }
    }
    vt_->close(s);
    return rc;
  });
  expect_all_succeeded(results, kChildren);

  std::map<std::string, int> wins;
  std::map<std::string, std::set<std::string>> ips_of;
  for (const ChildResult& r : results) {
    std::istringstream lines(r.output);
    std::string kind, id, ip;
    while (lines >> kind >> id) {
      if (kind == "W") ++wins[id];
      if (kind == "L" && lines >> ip) ips_of[id].insert(ip);
    }
  }
  ASSERT_EQ(wins.size(), static_cast<size_t>(kVmsPerChild));
  for (const auto& [id, n] : wins) EXPECT_EQ(n, 1) << id << " inserted by " << n << " children";
  ASSERT_EQ(ips_of.size(), static_cast<size_t>(kVmsPerChild));
  std::set<std::string> all_ips;
  for (const auto& [id, ips] : ips_of) {
    EXPECT_EQ(ips.size(), 1u) << id << " got different addresses";
    all_ips.insert(ips.begin(), ips.end());
  }
  EXPECT_EQ(all_ips.size(), static_cast<size_t>(kVmsPerChild)) << "an address was given twice";

  StoreClient c = open();
  EXPECT_EQ(c.vms().size(), static_cast<size_t>(kVmsPerChild));
  EXPECT_EQ(c.leases().size(), static_cast<size_t>(kVmsPerChild));
}

// A handle opened before fork() is refused in the child (SQLite connections
// must not cross fork) and closing it there leaves the parent's intact.
TEST_F(StoreConcurrency, HandleIsRefusedAfterFork) {
  StoreClient parent = open();
  ASSERT_EQ(parent.insert("a"), 0) << err_.message;
  std::vector<ChildResult> results = run_children(1, [&](int, std::string& out) {
    smolvm_plugin_error err{};
    int rc = parent.vt->vm_delete(parent.store, "a", &err);
    if (rc != SMOLVM_EINVAL || std::string(err.message).find("after fork") == std::string::npos) {
      out = "vm_delete in child: " + std::to_string(rc) + " " + err.message;
    }
    parent.vt->close(parent.store);
    return out.empty() ? 0 : 1;
  });
  expect_all_succeeded(results, 1);
  Vm a;
  EXPECT_EQ(parent.get("a", &a), 0) << err_.message;
  EXPECT_EQ(parent.insert("b"), 0) << err_.message;
}

// POSIX drops every lock a process holds on a file when it closes any
// descriptor of that file. Opening a second handle in the same process (a
// second runtime, a supervisor deleting its VM) must leave the first one's
// locks alone; when it did not, the next process to close the database took
// itself for the last one and deleted the -wal and -shm under the first
// handle (SQLite error 522 in the Go binding's tests afterwards).
TEST_F(StoreConcurrency, ASecondHandleInOneProcessKeepsTheFirstsLocks) {
  StoreClient first = open();
  ASSERT_EQ(first.insert("a"), 0) << err_.message;
  StoreClient second = open();
  ASSERT_EQ(second.insert("b"), 0) << err_.message;
  close(second);
  // Another process opens the database and closes it again.
  ASSERT_EQ(system(("sqlite3 '" + db_path_ + "' 'SELECT count(*) FROM vms' >/dev/null").c_str()),
            0);
  EXPECT_EQ(access((db_path_ + "-shm").c_str(), F_OK), 0) << "the -shm was deleted under us";
  Vm a;
  EXPECT_EQ(first.get("a", &a), 0) << err_.message;
  EXPECT_EQ(first.insert("c"), 0) << err_.message;
}

// One handle shared by threads: transactions must not interleave.
TEST_F(StoreConcurrency, ThreadsShareOneHandle) {
  StoreClient c = open();
  const uint32_t first = ip_num("10.1.0.1"), last = ip_num("10.1.0.254");
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      smolvm_plugin_error err{};
      StoreClient mine{c.vt, c.store, &err};
      for (int i = 0; i < 40; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        uint32_t ip = 0;
        if (mine.insert(id.c_str()) != 0 || mine.acquire(id.c_str(), first, last, &ip) != 0) {
          errors[t] = err.message;
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  std::vector<Lease> leases = c.leases();
  std::set<std::string> ips;
  for (const Lease& l : leases) ips.insert(l.ip);
  EXPECT_EQ(leases.size(), 160u);
  EXPECT_EQ(ips.size(), 160u);
  EXPECT_EQ(leases.back().ip, "10.1.0.160") << "lowest-free leaves no gaps";
}

}  // namespace
}  // namespace smolvm::store_test
