#include "caf_stream/actors/messages.hpp"

#include <string>

#include "caf_stream/actors/error.hpp"
#include "caf_stream/checkpoint/record_codec.hpp"

namespace caf_stream {

namespace {

// Appends to a serializer's buffer, and keeps its first error.
class serializer_out final : public detail::byte_out {
public:
  explicit serializer_out(caf::serializer& f) noexcept : f_(f) {
    // nop
  }

  // The first error, once every byte went to the serializer.
  caf::error& finish() {
    flush();
    return err_;
  }

protected:
  void write(const char* p, size_t n) override {
    if (!err_)
      err_ = f_.apply_raw(n, const_cast<char*>(p));
  }

private:
  caf::serializer& f_;
  caf::error err_;
};

} // namespace

caf::error write_partitions(caf::serializer& f, const generated_input& x) {
  // As CAF writes a vector of strings: its size, then each string's size
  // and characters.
  auto n = x.partitions.size();
  if (auto err = f.begin_sequence(n))
    return err;
  for (size_t i = 0; i < n; ++i) {
    auto size = i < x.written_on_send.size() ? x.written_on_send[i] : 0;
    if (size == 0) {
      if (auto err = f(const_cast<std::string&>(x.partitions[i])))
        return err;
      continue;
    }
    if (auto err = f.begin_sequence(size))
      return err;
    serializer_out out{f};
    auto written = x.write_held(x.data.get(), i, &out);
    if (auto& err = out.finish())
      return std::move(err);
    if (written != size)
      return caf::make_error(errc::illegal_state,
                             "partition " + std::to_string(i)
                               + " of a generated input changed while it "
                                 "was sent: "
                               + std::to_string(size) + " bytes counted, "
                               + std::to_string(written) + " written");
    if (auto err = f.end_sequence())
      return err;
  }
  return f.end_sequence();
}

} // namespace caf_stream
