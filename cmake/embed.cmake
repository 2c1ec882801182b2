# Turns INPUT into a C file defining a NUL-terminated char array SYMBOL and SYMBOL_size.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE ${OUTPUT}
     "#include <stddef.h>\n"
     "const char ${SYMBOL}[] = {${content} 0x00};\n"
     "const size_t ${SYMBOL}_size = sizeof ${SYMBOL} - 1;\n")
