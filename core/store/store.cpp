#include "core/store/store.h"

#include "core/common/error.h"
#include "core/common/names.h"
#include "core/common/process.h"

namespace smolvm {
namespace {

void check(int rc, const smolvm_plugin_error& err) {
  if (rc != 0) fail(rc, err.message[0] ? err.message : status_name(rc));
}

VmRecord from_row(const smolvm_store_vm* row) {
  VmRecord r;
  r.id = row->id ? row->id : "";
  r.state = row->state ? row->state : "";
  auto parse = [](const char* s) {
    if (!s || !*s) return nlohmann::json::object();
    auto j = nlohmann::json::parse(s, nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
  };
  r.spec = spec_from_json(parse(row->spec_json));
  r.runtime = runtime_from_json(parse(row->runtime_json));
  r.created_at_ms = row->created_at_ms;
  r.updated_at_ms = row->updated_at_ms;
  return r;
}

}  // namespace

Store::Store(const LoadedPlugin& plugin, const std::string& location)
    : vt_(plugin.vtable<smolvm_store_vtable>()) {
  smolvm_plugin_error err{};
  check(vt_.open(&handle_, location.c_str(), &err), err);
}

Store::~Store() {
  if (handle_) vt_.close(handle_);
}

void Store::insert(const VmRecord& rec) {
  const std::string spec = to_json(rec.spec).dump(), runtime = to_json(rec.runtime).dump();
  const int64_t now = now_ms();
  smolvm_store_vm row{rec.id.c_str(),
                      rec.state.c_str(),
                      spec.c_str(),
                      runtime.c_str(),
                      rec.created_at_ms ? rec.created_at_ms : now,
                      now};
  smolvm_plugin_error err{};
  check(vt_.vm_insert(handle_, &row, &err), err);
}

void Store::update(const std::string& id, const std::string& state, const VmSpec* spec,
                   const VmRuntime* runtime, const std::string& expect) {
  const std::string spec_s = spec ? to_json(*spec).dump() : "",
                    runtime_s = runtime ? to_json(*runtime).dump() : "";
  smolvm_store_vm row{id.c_str(),
                      state.empty() ? nullptr : state.c_str(),
                      spec ? spec_s.c_str() : nullptr,
                      runtime ? runtime_s.c_str() : nullptr,
                      0,
                      now_ms()};
  smolvm_plugin_error err{};
  check(vt_.vm_update(handle_, &row, expect.empty() ? nullptr : expect.c_str(), &err), err);
}

std::optional<VmRecord> Store::find(const std::string& id) {
  std::optional<VmRecord> out;
  smolvm_plugin_error err{};
  const int rc = vt_.vm_get(
      handle_, id.c_str(),
      [](void* ctx, const smolvm_store_vm* row) {
        *static_cast<std::optional<VmRecord>*>(ctx) = from_row(row);
      },
      &out, &err);
  if (rc == SMOLVM_ENOTFOUND) return std::nullopt;
  check(rc, err);
  return out;
}

VmRecord Store::get(const std::string& id) {
  auto r = find(id);
  if (!r) fail(SMOLVM_ENOTFOUND, "no VM with id '" + id + "' (see `smolvm ls`)");
  return *r;
}

std::vector<VmRecord> Store::list() {
  std::vector<VmRecord> out;
  smolvm_plugin_error err{};
  check(vt_.vm_list(
            handle_,
            [](void* ctx, const smolvm_store_vm* row) {
              static_cast<std::vector<VmRecord>*>(ctx)->push_back(from_row(row));
            },
            &out, &err),
        err);
  return out;
}

bool Store::remove(const std::string& id) {
  smolvm_plugin_error err{};
  const int rc = vt_.vm_delete(handle_, id.c_str(), &err);
  if (rc == SMOLVM_ENOTFOUND) return false;
  check(rc, err);
  return true;
}

void Store::set_process(const ProcessRecord& p) {
  smolvm_store_process row{p.vm_id.c_str(), p.role.c_str(), p.pid, p.start_time};
  smolvm_plugin_error err{};
  check(vt_.process_set(handle_, &row, &err), err);
}

void Store::clear_processes(const std::string& vm_id, const std::string& role) {
  smolvm_plugin_error err{};
  check(vt_.process_clear(handle_, vm_id.c_str(), role.empty() ? nullptr : role.c_str(), &err),
        err);
}

std::vector<ProcessRecord> Store::processes(const std::string& vm_id) {
  std::vector<ProcessRecord> out;
  smolvm_plugin_error err{};
  check(vt_.process_list(
            handle_, vm_id.c_str(),
            [](void* ctx, const smolvm_store_process* p) {
              static_cast<std::vector<ProcessRecord>*>(ctx)->push_back(
                  {p->vm_id ? p->vm_id : "", p->role ? p->role : "", p->pid, p->start_time});
            },
            &out, &err),
        err);
  return out;
}

std::vector<LeaseRecord> Store::leases() {
  std::vector<LeaseRecord> out;
  smolvm_plugin_error err{};
  check(vt_.lease_list(
            handle_,
            [](void* ctx, const smolvm_store_lease* l) {
              static_cast<std::vector<LeaseRecord>*>(ctx)->push_back(
                  {l->vm_id ? l->vm_id : "", l->ip ? l->ip : "", l->tap ? l->tap : ""});
            },
            &out, &err),
        err);
  return out;
}

uint32_t Store::acquire_lease(const std::string& vm_id, uint32_t first, uint32_t last,
                              const std::string& tap) {
  uint32_t ip = 0;
  smolvm_plugin_error err{};
  check(vt_.lease_acquire(handle_, vm_id.c_str(), first, last, tap.c_str(), &ip, &err), err);
  return ip;
}

void Store::add_forward(const ForwardRecord& f) {
  smolvm_store_forward row{f.vm_id.c_str(), f.protocol.c_str(), f.host_addr.c_str(), f.host_port,
                           f.guest_port};
  smolvm_plugin_error err{};
  check(vt_.forward_add(handle_, &row, &err), err);
}

void Store::remove_forward(const ForwardRecord& f) {
  smolvm_store_forward row{f.vm_id.c_str(), f.protocol.c_str(), f.host_addr.c_str(), f.host_port,
                           f.guest_port};
  smolvm_plugin_error err{};
  check(vt_.forward_remove(handle_, &row, &err), err);
}

std::vector<ForwardRecord> Store::forwards(const std::string& vm_id) {
  std::vector<ForwardRecord> out;
  smolvm_plugin_error err{};
  check(vt_.forward_list(
            handle_, vm_id.empty() ? nullptr : vm_id.c_str(),
            [](void* ctx, const smolvm_store_forward* f) {
              static_cast<std::vector<ForwardRecord>*>(ctx)->push_back(
                  {f->vm_id ? f->vm_id : "", f->protocol ? f->protocol : "",
                   f->host_addr ? f->host_addr : "", f->host_port, f->guest_port});
            },
            &out, &err),
        err);
  return out;
}

}  // namespace smolvm
