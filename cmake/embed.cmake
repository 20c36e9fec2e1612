# embed.cmake — turns a text file into a C source defining `const char NAME[]` (NUL-terminated)
# and `const size_t NAME_len`. Run as: cmake -DINPUT=f.js -DOUTPUT=f.c -DNAME=sym -P embed.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR byte_count "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}" "/* generated from ${INPUT} by cmake/embed.cmake; do not edit */\n#include <stddef.h>\nconst char ${NAME}[] = {${bytes}0};\nconst size_t ${NAME}_len = ${byte_count};\n")
