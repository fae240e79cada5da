// store.cpp - the store handle and argument checks shared by the operations.
#include "plugins/store-sqlite/store.h"

#include <unistd.h>

#include "smolvm/smolvm.h"

namespace smolvm::store_sqlite {

Store::Store(const std::string& path) : db(path), pid(getpid()) { migrate(db); }

const char* require(const char* s, const char* field) {
  if (s == nullptr || *s == '\0') {
    throw StoreError(SMOLVM_EINVAL, std::string(field) + ": must not be NULL or empty");
  }
  return s;
}

}  // namespace smolvm::store_sqlite
