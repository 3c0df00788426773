#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include <unistd.h>

#include "caf_stream/detail/build_id.hpp"

using caf_stream::detail::executable_build_id;

TEST_CASE("the build id is the one readelf reads from the executable",
          "[detail]") {
  auto command = "readelf -n /proc/" + std::to_string(getpid())
                 + "/exe 2>/dev/null";
  std::string notes;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe{popen(command.c_str(), "r"),
                                               pclose};
    REQUIRE(pipe);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe.get())) > 0;)
      notes.append(buf, n);
  }
  if (notes.empty()) {
    WARN("readelf (binutils) is not installed: nothing to compare with");
    return;
  }
  auto id = executable_build_id();
  REQUIRE(!id.empty());
  CHECK_THAT(notes, Catch::Contains("Build ID: " + id));
}
