#include "caf_stream/detail/build_id.hpp"

#include <cstdint>
#include <cstring>

#include <elf.h>
#include <link.h>

namespace caf_stream::detail {

namespace {

// Searches the note segments of the first object `dl_iterate_phdr` reports
// (the executable) for the GNU build id.
int find_build_id(dl_phdr_info* info, size_t, void* data) {
  auto& result = *static_cast<std::string*>(data);
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE)
      continue;
    auto pos = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    auto end = pos + ph.p_memsz;
    auto align = [](size_t n) { return (n + 3) & ~size_t{3}; };
    while (pos + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) note;
      std::memcpy(&note, pos, sizeof(note));
      auto name = pos + sizeof(note);
      auto desc = name + align(note.n_namesz);
      auto next = desc + align(note.n_descsz);
      if (next > end)
        break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4
          && std::memcmp(name, "GNU", 4) == 0) {
        static constexpr char digits[] = "0123456789abcdef";
        for (ElfW(Word) k = 0; k < note.n_descsz; ++k) {
          auto byte = static_cast<uint8_t>(desc[k]);
          result += digits[byte >> 4];
          result += digits[byte & 0xf];
        }
        return 1;
      }
      pos = next;
    }
  }
  // Only the executable counts, not the libraries after it.
  return 1;
}

} // namespace

std::string executable_build_id() {
  static const std::string result = [] {
    std::string id;
    dl_iterate_phdr(find_build_id, &id);
    return id;
  }();
  return result;
}

} // namespace caf_stream::detail
