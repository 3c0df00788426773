# Writes OUT, a C++ source that defines `const std::string& NAME()` in
# namespace caf_stream::ui returning the bytes of IN (a file embedded into
# the binary at build time).
#   cmake -DIN=file -DOUT=file.cpp -DNAME=function -P cmake/embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}"
"// Generated from ${IN} by cmake/embed.cmake: do not edit.
#include <string>

namespace caf_stream::ui {

namespace {

const unsigned char data[] = {${bytes}};

} // namespace

const std::string& ${NAME}() {
  static const std::string text(reinterpret_cast<const char*>(data), ${size});
  return text;
}

} // namespace caf_stream::ui
")
