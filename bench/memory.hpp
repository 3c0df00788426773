#pragma once

// How the benchmark programs have glibc treat freed memory.

#include <malloc.h>

#include <stdexcept>

namespace bench {

/// glibc hands freed memory back to the kernel (heap trimming, and blocks of
/// 128 KB and more get a mapping of their own), so a batch's tables, and a
/// received block's copies, fault their pages in again every batch: on this
/// VM's paravirtualized page faults that costs the pipelines a third of
/// their time. A JVM keeps its heap; this keeps freed memory in the
/// process, for the baselines and the pipelines alike. GLIBC_TUNABLES does
/// the same for any application:
///   glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=
///   33554432:glibc.malloc.top_pad=67108864
inline void keep_freed_memory() {
  if (mallopt(M_TRIM_THRESHOLD, 1 << 30) != 1
      || mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1
      || mallopt(M_TOP_PAD, 64 << 20) != 1)
    throw std::runtime_error("mallopt refused a setting");
}

} // namespace bench
