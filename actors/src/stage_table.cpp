#include "caf_stream/actors/stage_table.hpp"

#include "caf_stream/actors/messages.hpp"

namespace caf_stream::actors {

uint64_t stage_table::graph_id(const std::string& fingerprint) noexcept {
  uint64_t h = 14695981039346656037ull;
  for (auto c : fingerprint) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

void stage_table::add(std::shared_ptr<task_batch> stage) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto id = stage->id;
  stages_.emplace(id, std::move(stage));
}

void stage_table::remove(uint64_t stage) {
  std::lock_guard<std::mutex> guard{mtx_};
  stages_.erase(stage);
}

std::shared_ptr<task_batch> stage_table::find(uint64_t graph,
                                              uint64_t stage) const {
  if (graph != graph_)
    return nullptr;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = stages_.find(stage);
  return i != stages_.end() ? i->second : nullptr;
}

size_t stage_table::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return stages_.size();
}

scoped_stage::scoped_stage(stage_table& table,
                           std::shared_ptr<task_batch> stage)
  : table_(table), id_(stage->id) {
  table_.add(std::move(stage));
}

scoped_stage::~scoped_stage() {
  table_.remove(id_);
}

} // namespace caf_stream::actors
