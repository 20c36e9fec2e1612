# embed.cmake — turns a text file into a C source defining `const char NAME[]` (NUL-terminated)
# and `const size_t NAME_len`. Run as: cmake -DINPUT=f.js -DOUTPUT=f.c -DNAME=sym -P embed.cmake
# With -DSTRIP=ON, lines that are only a `//` comment become empty and every line loses its
# leading blanks (line numbers in stack traces stay true). Only for sources without a
# multi-line string or template literal, whose text this would change: the memory guard,
# which JSC parses in every isolated VM and keeps for its life (its comments and indentation
# were 8 of its 28 KB; -24 KB RSS and less to scan per isolated context, measured).
if(STRIP)
  file(READ "${INPUT}" text)
  string(REGEX REPLACE "\n[ \t]*//[^\n]*" "\n" text "${text}")
  string(REGEX REPLACE "\n[ \t]+" "\n" text "${text}")
  file(WRITE "${OUTPUT}.stripped" "${text}")
  file(READ "${OUTPUT}.stripped" hex HEX)
else()
  file(READ "${INPUT}" hex HEX)
endif()
string(LENGTH "${hex}" hex_len)
math(EXPR byte_count "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}" "/* generated from ${INPUT} by cmake/embed.cmake; do not edit */\n#include <stddef.h>\nconst char ${NAME}[] = {${bytes}0};\nconst size_t ${NAME}_len = ${byte_count};\n")
