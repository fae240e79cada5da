#include "core/profile/convert.h"

#include "core/profile/value_checks.h"

namespace smolvm::profile {
namespace {

const Node* at(const Node& root, std::string_view section, std::string_view key) {
  const Entry* s = root.find(section);
  if (!s || s->value->kind != Kind::Map) return nullptr;
  const Entry* e = s->value->find(key);
  return e ? e->value.get() : nullptr;
}

uint32_t int_of(const Node& n) { return static_cast<uint32_t>(expect_integer(n, "").value); }

std::string resolved_path(const Node& n) {
  const std::filesystem::path p(n.text);
  return (p.is_absolute() ? p : n.loc.source->dir / p).lexically_normal().string();
}

PortSpec to_port(const Node& n) {
  PortSpec port;
  port.guest_port = static_cast<uint16_t>(int_of(*n.find("guest")->value));
  if (const Entry* host = n.find("host"); host && host->value->kind != Kind::String) {
    port.host_port = static_cast<uint16_t>(int_of(*host->value));
  }
  if (const Entry* addr = n.find("host_addr")) port.host_addr = addr->value->text;
  if (const Entry* proto = n.find("protocol")) port.protocol = proto->value->text;
  return port;
}

}  // namespace

Profile to_profile(const Node& root) {
  Profile p;
  VmSpec& s = p.spec;
  p.name = root.find("name")->value->text;
  if (const Entry* id = root.find("id")) s.vm_id = id->value->text;
  if (const Node* n = at(root, "resources", "vcpu_count")) s.vcpu_count = int_of(*n);
  if (const Node* n = at(root, "resources", "mem_size_mib")) s.mem_size_mib = int_of(*n);
  if (const Node* n = at(root, "disk", "mode")) s.disk_mode = n->text;
  if (const Node* n = at(root, "disk", "size_mib")) p.disk_size_mib = int_of(*n);
  if (const Entry* image = root.find("image");
      image && image->value->kind == Kind::String && image->value->text != kDefaultImageName) {
    s.image = image->value->text;
  }
  if (const Node* n = at(root, "image", "kernel")) s.kernel_path = resolved_path(*n);
  if (const Node* n = at(root, "image", "rootfs")) s.rootfs_path = resolved_path(*n);
  if (const Node* n = at(root, "boot", "args")) s.boot_args = n->text;
  if (const Node* n = at(root, "boot", "timeout_s")) s.boot_timeout_s = int_of(*n);
  if (const Node* n = at(root, "boot", "mode")) s.boot = n->text;
  if (const Node* n = at(root, "backend", "vmm")) s.vmm = n->text;
  if (const Node* n = at(root, "backend", "executor")) s.executor = n->text;
  if (const Node* n = at(root, "backend", "network")) s.network = n->text;
  if (const Node* n = at(root, "backend", "accel")) s.accel = n->text;
  if (const Node* n = at(root, "lifetime", "ttl_s")) s.ttl_s = int_of(*n);
  if (const Node* n = at(root, "lifetime", "idle_timeout_s")) s.idle_timeout_s = int_of(*n);
  if (const Node* n = at(root, "lifetime", "on_ttl")) s.on_ttl = n->text;
  if (const Node* n = at(root, "lifetime", "on_idle")) s.on_idle = n->text;
  if (const Node* ports = at(root, "network", "ports")) {
    for (const NodePtr& item : ports->items) p.ports.push_back(to_port(*item));
  }
  if (const Entry* env = root.find("env")) {
    for (const Entry& e : env->value->entries) p.env.emplace_back(e.key, e.value->text);
  }
  if (const Entry* snapshot = root.find("snapshot")) p.snapshot = snapshot->value->text;
  if (const Entry* setup = root.find("setup")) {
    for (const NodePtr& cmd : setup->value->items) p.setup.push_back(cmd->text);
  }
  return p;
}

}  // namespace smolvm::profile
