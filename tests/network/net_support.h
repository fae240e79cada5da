// What the network tests look at, shared by the files of net_tests: the
// plugin under test, the TAPs, rules and leases of this namespace, and the
// upstream server run_in_netns.sh starts.
#pragma once

#include <set>
#include <string>

#include "tests/support/vm_fixture.h"

namespace vmtest {

// $SMOLVM_TEST_NETWORK: the network plugin under test (nftables by default).
const char* plugin();
// A host shell command's stdout (stderr dropped).
std::string sh(const std::string& cmd);
// The network devices of this process's namespace, asked of the kernel.
std::set<std::string> links();
// The TAPs of VMs ("svm-*") in this namespace.
int tap_count();
// Rule or set-element lines that name one VM (a TAP or a guest address).
int vm_rule_lines();
// Rows of the store's leases table.
int lease_count();
// A VM of 256 MiB on the plugin under test (not started).
smolvm_vm* create_net(const std::string& id, const char* kernel = nullptr);
// The guest fetches the upstream namespace's hello.txt over HTTP, from the
// address `source` of its own (its leased one by default).
Result fetch_upstream_hello(smolvm_vm* vm, const std::string& source = "", int timeout_s = 5);
// TCP segments the upstream namespace has received so far (-1 outside
// run_in_netns.sh's first namespace pair).
long upstream_tcp_segments_in();
// Packets the plugin under test dropped because their source was not the
// leased address of the TAP they came from (all VMs together).
long spoofed_drops();

}  // namespace vmtest
