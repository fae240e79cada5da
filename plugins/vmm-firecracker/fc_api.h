// Firecracker's HTTP API over its Unix socket, with libcurl.
#pragma once

#include <memory>
#include <string>

#include "plugins/vmm-firecracker/fc_requests.h"

namespace smolvm_fc {

// The error text of a failed call: "PUT /drives/rootfs: HTTP 400: <the
// fault_message of Firecracker's JSON body, or the raw body>".
std::string describe_failure(const ApiRequest& req, long http_status, const std::string& body);

// {"fault_message": "..."} -> "...", or "" when the body is not that shape.
std::string fault_message(const std::string& body);

class ApiClient {
 public:
  explicit ApiClient(std::string socket_path, long timeout_ms = 10000);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Sends the request; true on a 2xx answer, else false with error set.
  bool send(const ApiRequest& req, std::string& error);
  // GET path; true on 200 with the answer's body in out.
  bool get(const std::string& path, std::string& out, std::string& error);

 private:
  bool perform(const ApiRequest& req, std::string& response, std::string& error);

  std::string socket_path_;
  long timeout_ms_;
  void* curl_ = nullptr;  // CURL*, reused so the connection stays open
};

}  // namespace smolvm_fc
