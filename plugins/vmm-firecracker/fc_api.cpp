#include "plugins/vmm-firecracker/fc_api.h"

#include <curl/curl.h>

#include <mutex>
#include <nlohmann/json.hpp>

namespace smolvm_fc {
namespace {

size_t collect(char* data, size_t size, size_t n, void* ctx) {
  static_cast<std::string*>(ctx)->append(data, size * n);
  return size * n;
}

void global_init() {
  // curl_global_init is not thread-safe before 7.84; once per process.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_NOTHING); });
}

}  // namespace

std::string fault_message(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    const auto it = j.find("fault_message");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

std::string describe_failure(const ApiRequest& req, long http_status, const std::string& body) {
  std::string detail = fault_message(body);
  if (detail.empty()) detail = body.empty() ? "(no body)" : body;
  return req.method + " " + req.path + ": HTTP " + std::to_string(http_status) + ": " + detail;
}

ApiClient::ApiClient(std::string socket_path, long timeout_ms)
    : socket_path_(std::move(socket_path)), timeout_ms_(timeout_ms) {
  global_init();
  curl_ = curl_easy_init();
}

ApiClient::~ApiClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

bool ApiClient::perform(const ApiRequest& req, std::string& response, std::string& error) {
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) {
    error = "curl_easy_init failed";
    return false;
  }
  const std::string url = "http://localhost" + req.path;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (req.method != "GET") headers = curl_slist_append(headers, "Content-Type: application/json");
  // Firecracker's HTTP server does not do "Expect: 100-continue"; curl would
  // wait a second for the 100 before sending a larger body.
  headers = curl_slist_append(headers, "Expect:");
  char curl_error[CURL_ERROR_SIZE] = {0};
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  // The handle outlives this frame's buffer.
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    error = req.method + " " + req.path + " on " + socket_path_ + ": " +
            (curl_error[0] ? curl_error : curl_easy_strerror(rc));
    return false;
  }
  if (status < 200 || status > 299) {
    error = describe_failure(req, status, response);
    return false;
  }
  return true;
}

bool ApiClient::send(const ApiRequest& req, std::string& error) {
  std::string response;
  return perform(req, response, error);
}

bool ApiClient::get(const std::string& path, std::string& out, std::string& error) {
  out.clear();
  return perform({"GET", path, ""}, out, error);
}

}  // namespace smolvm_fc
