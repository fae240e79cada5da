// leases.cpp - guest addresses: at most one per VM, each address at most once,
// handed out lowest-free-first so that addresses stay small and predictable.
#include <cstdio>
#include <string>

#include "plugins/store-sqlite/store.h"
#include "smolvm/smolvm.h"

namespace smolvm::store_sqlite {
namespace {

std::string dotted(uint32_t ip) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
                ip & 0xff);
  return buf;
}

// The lowest address in [first, last] missing from the ordered used list,
// read in one index scan that stops at the first gap. Returns false when
// every address is taken.
bool lowest_free(Db& db, uint32_t first, uint32_t last, uint32_t* out) {
  Stmt used(db, "SELECT ip_num FROM leases WHERE ip_num BETWEEN ?1 AND ?2 ORDER BY ip_num");
  used.bind(1, int64_t{first}).bind(2, int64_t{last});
  // 64-bit so that a pool ending at 255.255.255.255 cannot wrap around.
  uint64_t candidate = first;
  while (used.step()) {
    uint64_t ip = static_cast<uint64_t>(used.int_at(0));
    if (ip != candidate) break;
    ++candidate;
  }
  if (candidate > last) return false;
  *out = static_cast<uint32_t>(candidate);
  return true;
}

}  // namespace

uint32_t lease_acquire(Db& db, const char* vm_id, uint32_t first, uint32_t last, const char* tap) {
  require(vm_id, "vm_id");
  if (first > last) {
    throw StoreError(SMOLVM_EINVAL, "address pool " + dotted(first) + ".." + dotted(last) +
                                        ": first must not be after last");
  }
  // Read the used addresses and insert the pick under one write lock, so two
  // processes can never pick the same free address.
  WriteTxn txn(db);
  Stmt existing(db, "SELECT ip_num FROM leases WHERE vm_id = ?1");
  if (existing.bind(1, vm_id).step()) return static_cast<uint32_t>(existing.int_at(0));
  vm_require(db, vm_id);

  uint32_t ip = 0;
  if (!lowest_free(db, first, last, &ip)) {
    throw StoreError(SMOLVM_EBUSY,
                     "address pool " + dotted(first) + ".." + dotted(last) + " exhausted");
  }
  Stmt insert(db,
              "INSERT INTO leases (ip, ip_num, vm_id, tap, created_at_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.bind(1, dotted(ip))
      .bind(2, int64_t{ip})
      .bind(3, vm_id)
      .bind(4, tap != nullptr ? tap : "")
      .bind(5, now_ms())
      .run();
  txn.commit();
  return ip;
}

void lease_release(Db& db, const char* vm_id) {
  require(vm_id, "vm_id");
  // Idempotent: teardown and gc may both release the same VM's lease.
  Stmt stmt(db, "DELETE FROM leases WHERE vm_id = ?1");
  stmt.bind(1, vm_id).run();
}

std::vector<LeaseRow> lease_list(Db& db) {
  Stmt stmt(db, "SELECT vm_id, ip, tap FROM leases ORDER BY ip_num");
  std::vector<LeaseRow> rows;
  while (stmt.step()) rows.push_back({stmt.text_at(0), stmt.text_at(1), stmt.text_at(2)});
  return rows;
}

}  // namespace smolvm::store_sqlite
