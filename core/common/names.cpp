#include "core/common/names.h"

#include "smolvm/smolvm.h"

namespace smolvm {

const char* status_name(int status) {
  switch (status) {
    case SMOLVM_OK:
      return "OK";
    case SMOLVM_ERROR:
      return "ERROR";
    case SMOLVM_EINVAL:
      return "EINVAL";
    case SMOLVM_ENOTFOUND:
      return "ENOTFOUND";
    case SMOLVM_ESTATE:
      return "ESTATE";
    case SMOLVM_ETIMEOUT:
      return "ETIMEOUT";
    case SMOLVM_EEXISTS:
      return "EEXISTS";
    case SMOLVM_EPLUGIN:
      return "EPLUGIN";
    case SMOLVM_EIO:
      return "EIO";
    case SMOLVM_EPERM:
      return "EPERM";
    case SMOLVM_EUNSUPPORTED:
      return "EUNSUPPORTED";
    case SMOLVM_EBUSY:
      return "EBUSY";
    case SMOLVM_EPROTO:
      return "EPROTO";
    case SMOLVM_ENOMEM:
      return "ENOMEM";
    case SMOLVM_EDONE:
      return "EDONE";
  }
  return "EUNKNOWN";
}

int status_by_name(std::string_view name) {
  // The codes run from SMOLVM_OK down, without gaps (smolvm.h).
  for (int status = SMOLVM_OK; status >= SMOLVM_EDONE; --status) {
    if (name == status_name(status)) return status;
  }
  return SMOLVM_ERROR;
}

const char* vm_state_name(int state) {
  switch (state) {
    case SMOLVM_STATE_CREATED:
      return "created";
    case SMOLVM_STATE_STARTING:
      return "starting";
    case SMOLVM_STATE_RUNNING:
      return "running";
    case SMOLVM_STATE_STOPPING:
      return "stopping";
    case SMOLVM_STATE_STOPPED:
      return "stopped";
    case SMOLVM_STATE_FAILED:
      return "failed";
    case SMOLVM_STATE_PAUSED:
      return "paused";
  }
  return "unknown";
}

}  // namespace smolvm
