#include "caf_stream/twitter/status.hpp"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "caf_stream/error.hpp"

namespace caf_stream::twitter::detail {

namespace {

using json = nlohmann::json;

std::string excerpt(const std::string& x) {
  return x.size() <= 80 ? x : x.substr(0, 77) + "...";
}

std::string string_at(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i != obj.end() && i->is_string() ? i->get<std::string>()
                                          : std::string{};
}

// "title: detail" of each error in the API's `errors` array.
std::string describe_errors(const json& errors) {
  std::string result;
  for (const auto& e : errors) {
    if (!result.empty())
      result += "; ";
    result += e.is_object() ? string_at(e, "title") : std::string{"error"};
    if (auto detail = e.is_object() ? string_at(e, "detail") : "";
        !detail.empty())
      result += ": " + detail;
  }
  return result;
}

json parse_json(const std::string& text, const std::string& what) {
  auto result = json::parse(text, nullptr, false);
  if (result.is_discarded())
    throw stream_error(errc::source_failure,
                       what + ": the answer is not JSON: " + excerpt(text));
  return result;
}

} // namespace

std::string stream_url(const std::string& base_url) {
  return base_url
         + "/2/tweets/search/stream"
           "?tweet.fields=author_id,created_at,lang,entities";
}

status parse_status(const std::string& line) {
  auto doc = json::parse(line, nullptr, false);
  if (doc.is_discarded())
    throw std::runtime_error("a line that is not JSON: " + excerpt(line));
  if (!doc.is_object())
    throw std::runtime_error("a line that holds no post: " + excerpt(line));
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) {
    if (auto errors = doc.find("errors");
        errors != doc.end() && errors->is_array())
      throw std::runtime_error("the stream sent errors: "
                               + describe_errors(*errors));
    throw std::runtime_error("a line that holds no post: " + excerpt(line));
  }
  status result;
  result.id = string_at(*data, "id");
  result.text = string_at(*data, "text");
  if (result.id.empty())
    throw std::runtime_error("a post without an id: " + excerpt(line));
  result.author_id = string_at(*data, "author_id");
  result.created_at = string_at(*data, "created_at");
  result.lang = string_at(*data, "lang");
  auto entities = data->find("entities");
  if (entities != data->end() && entities->is_object()) {
    auto tags = entities->find("hashtags");
    if (tags != entities->end() && tags->is_array()) {
      std::vector<std::pair<int64_t, std::string>> found;
      for (const auto& t : *tags)
        if (t.is_object() && t.contains("tag") && t["tag"].is_string())
          found.emplace_back(t.value("start", int64_t{0}),
                             t["tag"].get<std::string>());
      std::stable_sort(found.begin(), found.end(),
                       [](const auto& x, const auto& y) {
                         return x.first < y.first;
                       });
      for (auto& [start, tag] : found)
        result.hashtags.push_back(std::move(tag));
    }
  }
  return result;
}

void sync_rules(const std::string& base_url, const std::string& bearer_token,
                const std::vector<std::string>& rules,
                const http::settings& cfg) {
  auto url = base_url + "/2/tweets/search/stream/rules";
  std::vector<std::string> headers{"Authorization: Bearer " + bearer_token,
                                   "Content-Type: application/json"};
  auto call = [&](const std::string& method, const std::string& body) {
    auto answer = http::detail::request(method, url, headers, body, cfg);
    auto what = method + " " + url;
    if (answer.status < 200 || answer.status >= 300)
      throw stream_error(errc::source_failure,
                         what + ": HTTP " + std::to_string(answer.status)
                           + ": " + excerpt(answer.body));
    auto doc = parse_json(answer.body, what);
    // The API answers 200 with `errors` for rules it refused.
    if (doc.is_object() && doc.contains("errors") && !doc.contains("data")
        && doc["errors"].is_array() && !doc["errors"].empty())
      throw stream_error(errc::source_failure,
                         what + ": " + describe_errors(doc["errors"]));
    return doc;
  };
  auto current = call("GET", "");
  std::vector<std::string> stale;
  std::vector<std::string> present;
  if (auto data = current.find("data");
      data != current.end() && data->is_array())
    for (const auto& rule : *data) {
      auto value = string_at(rule, "value");
      if (std::find(rules.begin(), rules.end(), value) == rules.end())
        stale.push_back(string_at(rule, "id"));
      else
        present.push_back(value);
    }
  if (!stale.empty())
    call("POST", json{{"delete", {{"ids", stale}}}}.dump());
  json add = json::array();
  for (const auto& rule : rules)
    if (std::find(present.begin(), present.end(), rule) == present.end())
      add.push_back({{"value", rule}});
  if (!add.empty())
    call("POST", json{{"add", add}}.dump());
}

} // namespace caf_stream::twitter::detail
