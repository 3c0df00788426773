#include "caf_stream/http/receiver.hpp"

#include <cctype>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <curl/curl.h>

#include "caf_stream/error.hpp"

namespace caf_stream::http::detail {

namespace {

// The start of an error response's body that a report quotes.
constexpr size_t max_quoted_body = 512;

void init_curl() {
  static std::once_flag flag;
  std::call_once(flag, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct easy_deleter {
  void operator()(CURL* x) const noexcept {
    curl_easy_cleanup(x);
  }
};

struct multi_deleter {
  void operator()(CURLM* x) const noexcept {
    curl_multi_cleanup(x);
  }
};

struct slist_deleter {
  void operator()(curl_slist* x) const noexcept {
    curl_slist_free_all(x);
  }
};

// What the write callback sees of a response.
struct transfer {
  CURL* easy = nullptr;
  const std::function<void(const char*, size_t)>* on_body = nullptr;
  long status = 0;
  bool received = false;
  std::string error_body;
};

size_t on_write(char* data, size_t, size_t size, void* obj) {
  auto& t = *static_cast<transfer*>(obj);
  if (t.status == 0)
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.status);
  if (t.status >= 200 && t.status < 300) {
    t.received = t.received || size > 0;
    (*t.on_body)(data, size);
    return size;
  }
  // An error response: keep the start of its body for the report, then
  // stop reading.
  auto n = std::min(size, max_quoted_body - t.error_body.size());
  t.error_body.append(data, n);
  return t.error_body.size() < max_quoted_body ? size : 0;
}

std::string printable(std::string x) {
  for (auto& c : x)
    if (!std::isprint(static_cast<unsigned char>(c)))
      c = ' ';
  while (!x.empty() && x.back() == ' ')
    x.pop_back();
  return x;
}

std::unique_ptr<curl_slist, slist_deleter>
make_header_list(const settings& cfg,
                 const std::vector<std::string>& extra_headers) {
  curl_slist* list = nullptr;
  for (const auto& [name, value] : cfg.headers)
    list = curl_slist_append(list, (name + ": " + value).c_str());
  for (const auto& line : extra_headers)
    list = curl_slist_append(list, line.c_str());
  return std::unique_ptr<curl_slist, slist_deleter>{list};
}

// The most of an answer that `request` reads.
constexpr size_t max_answer = 1024 * 1024;

size_t on_answer(char* data, size_t, size_t size, void* obj) {
  auto& body = *static_cast<std::string*>(obj);
  if (body.size() + size > max_answer)
    return 0;
  body.append(data, size);
  return size;
}

long whole_seconds(duration x) {
  return static_cast<long>(
    std::chrono::ceil<std::chrono::seconds>(x).count());
}

} // namespace

void check_request(const std::string& url, const settings& cfg,
                   const char* what) {
  auto refuse = [&](const std::string& reason) {
    throw std::invalid_argument(std::string{what} + ": " + reason);
  };
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    refuse("'" + url + "' is not an http:// or https:// URL");
  init_curl();
  std::unique_ptr<CURLU, void (*)(CURLU*)> parsed{curl_url(), curl_url_cleanup};
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    refuse("'" + url + "' is not a valid URL");
  for (const auto& [name, value] : cfg.headers) {
    auto bad = [](char c) { return c == '\r' || c == '\n'; };
    if (name.empty() || name.find(':') != std::string::npos
        || std::any_of(name.begin(), name.end(), bad)
        || std::any_of(value.begin(), value.end(), bad))
      refuse("the header '" + printable(name)
             + "' is malformed (a name without ':', no line breaks)");
  }
  if (cfg.connect_timeout.count() <= 0)
    refuse("the connect timeout must be positive");
  if (cfg.stall_timeout < std::chrono::seconds(1))
    refuse("the stall timeout must be 1 s or more");
  if (cfg.initial_backoff.count() <= 0 || cfg.max_backoff.count() <= 0)
    refuse("the backoff must be positive");
  if (cfg.max_record_size == 0)
    refuse("the maximum record size must be positive");
}

duration backoff(duration initial, duration max, int failures) {
  auto result = initial;
  for (int i = 1; i < failures && result < max; ++i)
    result *= 2;
  return std::min(result, max);
}

response_end stream_request(
  const std::string& url, const settings& cfg,
  const std::vector<std::string>& extra_headers,
  const std::function<void(const char*, size_t)>& on_body,
  const std::function<bool()>& stopping) {
  init_curl();
  std::unique_ptr<CURL, easy_deleter> easy{curl_easy_init()};
  std::unique_ptr<CURLM, multi_deleter> multi{curl_multi_init()};
  if (!easy || !multi)
    return {"libcurl cannot make a request", false};
  auto header_list = make_header_list(cfg, extra_headers);
  transfer t;
  t.easy = easy.get();
  t.on_body = &on_body;
  char error_text[CURL_ERROR_SIZE] = {0};
  auto* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(cfg.connect_timeout.count()));
  // Less than a byte a second for the whole stall timeout: a stall.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, whole_seconds(cfg.stall_timeout));
  curl_multi_add_handle(multi.get(), h);
  int running = 1;
  bool stopped = false;
  while (running > 0) {
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK)
      break;
    if (running == 0)
      break;
    if (stopping()) {
      stopped = true;
      break;
    }
    // Short waits: a stopping receiver notices within one.
    curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
  CURLcode rc = CURLE_OK;
  int left = 0;
  while (auto* msg = curl_multi_info_read(multi.get(), &left))
    if (msg->msg == CURLMSG_DONE)
      rc = msg->data.result;
  if (t.status == 0)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.status);
  curl_multi_remove_handle(multi.get(), h);
  response_end result;
  result.received = t.received;
  if (stopped) {
    result.reason = "stopped";
  } else if (t.status >= 300) {
    result.reason = "HTTP " + std::to_string(t.status);
    if (auto body = printable(t.error_body); !body.empty())
      result.reason += ": " + body;
  } else if (rc == CURLE_OPERATION_TIMEDOUT && t.status != 0) {
    result.reason = "no data for "
                    + std::to_string(whole_seconds(cfg.stall_timeout))
                    + " s: the stream stalled";
  } else if (rc != CURLE_OK) {
    result.reason = error_text[0] != '\0' ? std::string{error_text}
                                         : curl_easy_strerror(rc);
  } else {
    result.reason = "the server ended the stream";
  }
  return result;
}

response request(const std::string& method, const std::string& url,
                 const std::vector<std::string>& extra_headers,
                 const std::string& body, const settings& cfg) {
  init_curl();
  std::unique_ptr<CURL, easy_deleter> easy{curl_easy_init()};
  if (!easy)
    throw stream_error(errc::source_failure, "libcurl cannot make a request");
  auto header_list = make_header_list(cfg, extra_headers);
  response result;
  char error_text[CURL_ERROR_SIZE] = {0};
  auto* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  if (!body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(cfg.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT, whole_seconds(cfg.stall_timeout));
  auto rc = curl_easy_perform(h);
  if (rc != CURLE_OK)
    throw stream_error(errc::source_failure,
                       method + " " + url + ": "
                         + (error_text[0] != '\0'
                              ? std::string{error_text}
                              : std::string{curl_easy_strerror(rc)}));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

} // namespace caf_stream::http::detail
