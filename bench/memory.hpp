#pragma once

// How the benchmark programs have glibc treat freed memory.

#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace bench {

/// glibc hands freed memory back to the kernel (heap trimming, and blocks of
/// 128 KB and more get a mapping of their own), so a batch's tables, and a
/// received block's copies, fault their pages in again every batch: on this
/// VM's paravirtualized page faults that costs the pipelines a third of
/// their time. A JVM keeps its heap; this keeps freed memory in the
/// process, for the baselines and the pipelines alike. GLIBC_TUNABLES does
/// the same for any application (with `use_huge_pages`' setting, the line
/// the README gives):
///   glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=
///   33554432:glibc.malloc.top_pad=67108864
inline void keep_freed_memory() {
  if (mallopt(M_TRIM_THRESHOLD, 1 << 30) != 1
      || mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1
      || mallopt(M_TOP_PAD, 64 << 20) != 1)
    throw std::runtime_error("mallopt refused a setting");
}

/// The first touch of each 4 KB page a process's heap grows by costs a
/// paravirtualized page fault on this VM, 10-14 us: a pipeline's first
/// batches, whose tables and blocks grow the heap, pay for thousands of
/// them (a 10 ms batch took 17 ms). Under `glibc.malloc.hugetlb=1` glibc
/// asks for transparent huge pages for its heaps (where they are in
/// `madvise` mode, as here, or `always`), and a page fault maps 2 MB: 0.2-0.4
/// us per 4 KB. glibc reads that setting at start only (no `mallopt` has
/// it), so this runs the program again with it added to GLIBC_TUNABLES,
/// unless that already has it; the processes the program starts inherit
/// it. Call before the program does anything, with `main`'s `argv`.
inline void use_huge_pages(char** argv) {
  constexpr const char* setting = "glibc.malloc.hugetlb=1";
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::string value = tunables == nullptr ? "" : tunables;
  if (value.find(setting) != std::string::npos)
    return;
  value += value.empty() ? setting : std::string{":"} + setting;
  if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0)
    throw std::runtime_error("cannot set GLIBC_TUNABLES");
  ::execv("/proc/self/exe", argv);
  throw std::runtime_error(std::string{"cannot run this program again with "}
                           + setting + ": " + std::strerror(errno));
}

} // namespace bench
