// SSH access for VMs created with executor=ssh. The host passes the VM's
// public key as smolvm.ssh_key=<base64 of the authorized_keys line> (base64
// because the kernel splits its command line at spaces); init installs it
// for root and starts sshd with a host key made inside this VM, never one
// baked into the image.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smolvm::agent {

// The authorized_keys line (newline-terminated) that smolvm.ssh_key= asks
// for; nullopt when the parameter is absent, or when it is malformed, in
// which case err says why.
std::optional<std::string> ssh_key_from_cmdline(std::string_view cmdline, std::string& err);

// Installs the key for root and starts sshd in the background (making the
// ed25519 host key first if the disk has none). The agent serves meanwhile:
// the host reads the host key through it once the file appears.
void start_sshd(const std::string& authorized_key);

}  // namespace smolvm::agent
