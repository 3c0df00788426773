#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

namespace support {

/// An HTTP response a test fetched.
struct http_response {
  long status = 0;
  std::string body;
};

/// Fetches `url` with libcurl (a bound of 60 s for a stuck server).
inline http_response http_get(const std::string& url) {
  http_response result;
  auto* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(
    h, CURLOPT_WRITEFUNCTION,
    +[](char* data, size_t, size_t size, void* obj) {
      static_cast<std::string*>(obj)->append(data, size);
      return size;
    });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
  if (curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_cleanup(h);
  return result;
}

/// A context with the streaming UI on a free port, under a manual clock:
/// a test input of one RDD per batch (`sizes[i]` records in batch i)
/// with two output operations (`foreach_rdd`, then `print`). `run` cuts
/// the batches and waits until the UI's listener has seen them.
class ui_pipeline {
public:
  explicit ui_pipeline(std::vector<int> sizes)
    : clk_(std::make_shared<caf_stream::testing::manual_clock>(
      caf_stream::time{0})),
      ssc_(std::chrono::seconds(1), options(), clk_),
      batches_(std::make_shared<collector>()),
      sizes_(std::move(sizes)) {
    // A test input reports its records per batch (a queue stream, as in
    // Spark, does not).
    std::vector<std::vector<int>> input;
    for (auto n : sizes_) {
      std::vector<int> xs(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i)
        xs[static_cast<size_t>(i)] = i;
      input.push_back(std::move(xs));
    }
    auto s = caf_stream::testing::detail::add_test_input(ssc_, input, 2);
    s.foreach_rdd([](const caf_stream::rdd<int>&) {});
    s.print(1);
  }

  caf_stream::streaming_context& context() {
    return ssc_;
  }

  /// Starts the context and completes every batch. The collector listens
  /// after the UI's listener, which has seen a batch once it has.
  void run() {
    ssc_.start();
    ssc_.add_streaming_listener(batches_);
    for (size_t i = 1; i <= sizes_.size(); ++i) {
      clk_->advance(std::chrono::seconds(1));
      batches_->wait_for_batches(i);
    }
  }

  /// The completed batches, oldest first.
  std::vector<caf_stream::batch_info> batches() {
    return batches_->infos();
  }

  /// The UI's address, "http://127.0.0.1:<port>/".
  std::string url() const {
    return *ssc_.ui_web_url();
  }

private:
  using collector = caf_stream::testing::detail::output_collector<int>;

  static caf_stream::stream_options options() {
    auto opts = caf_stream::testing::default_test_options();
    opts.ui_enabled = true;
    opts.ui_port = 0;
    return opts;
  }

  std::shared_ptr<caf_stream::testing::manual_clock> clk_;
  caf_stream::streaming_context ssc_;
  std::shared_ptr<collector> batches_;
  std::vector<int> sizes_;
};

} // namespace support
