#pragma once

#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

#include "caf_stream/rdd/rdd.hpp"

namespace caf_stream {

/// The elements of an RDD as `rdd::to_local_iterator` hands them out (an
/// input range, read once): each partition is computed when the iteration
/// reaches it, and only the current one is kept.
template <class T>
class local_elements {
public:
  /// Reads the elements in order; all iterators of one range share its
  /// partition, so only the last one incremented is valid.
  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    /// The end.
    iterator() noexcept = default;

    reference operator*() const {
      return owner_->part_[pos_];
    }

    pointer operator->() const {
      return &owner_->part_[pos_];
    }

    iterator& operator++() {
      ++pos_;
      if (!owner_->settle(pos_))
        owner_ = nullptr;
      return *this;
    }

    /// Holds the element an iterator pointed to before `it++`.
    class previous {
    public:
      const T& operator*() const noexcept {
        return value_;
      }

    private:
      friend class iterator;

      explicit previous(T value) : value_(std::move(value)) {
        // nop
      }

      T value_;
    };

    previous operator++(int) {
      previous result{**this};
      ++*this;
      return result;
    }

    friend bool operator==(const iterator& x, const iterator& y) noexcept {
      return x.owner_ == y.owner_ && (x.owner_ == nullptr || x.pos_ == y.pos_);
    }

    friend bool operator!=(const iterator& x, const iterator& y) noexcept {
      return !(x == y);
    }

  private:
    friend class local_elements;

    explicit iterator(local_elements* owner) noexcept : owner_(owner) {
      // nop
    }

    local_elements* owner_ = nullptr;
    size_t pos_ = 0;
  };

  explicit local_elements(rdd<T> source) : source_(std::move(source)) {
    // nop
  }

  /// The first element, computing partitions until one has any.
  iterator begin() {
    iterator result{this};
    if (!settle(result.pos_))
      return end();
    return result;
  }

  iterator end() noexcept {
    return iterator{};
  }

private:
  // Computes the next partitions while `pos` is past the current one's end;
  // false once none is left.
  bool settle(size_t& pos) {
    while (pos >= part_.size()) {
      if (next_ >= source_.partitions())
        return false;
      part_ = source_.partition_records(next_++);
      pos = 0;
    }
    return true;
  }

  rdd<T> source_;
  size_t next_ = 0;
  std::vector<T> part_;
};

} // namespace caf_stream
