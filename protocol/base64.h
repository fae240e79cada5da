// Standard base64 (RFC 4648, with padding), shared by the host and the
// agent: the host hands the guest its SSH public key on the kernel command
// line in base64 (no spaces), and SSH keys and fingerprints are base64.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smolvm::proto {

std::string base64_encode(std::string_view data, bool pad = true);
// nullopt on a character outside the alphabet or a bad length; padding is
// optional.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace smolvm::proto
