// A VM's TAP device on the host, routed: the TAP carries the gateway
// address as a /32 and a /32 route to its one guest, so no two TAPs share a
// subnet and a guest can reach the gateway but never resolve another VM.
#pragma once

#include <string>

#include "smolvm/plugin.h"

namespace smolvm_net {

// Creates (or finds) the persistent TAP, brings it up, adds the gateway
// address and the guest route, enables forwarding and route_localnet (for
// port forwards reached from 127.0.0.1) and turns IPv6 off on the TAP.
// Returns false with error.
bool tap_up(const smolvm_network_config& cfg, std::string& error);
// Removes the TAP (and with it its address and route); absent is fine.
bool tap_down(const std::string& tap_name, std::string& error);
bool tap_exists(const std::string& tap_name);

}  // namespace smolvm_net
