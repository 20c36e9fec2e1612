/* fuzz_utf8 — utf8_is_valid and utf8_to_utf16 against ICU's converter (u_strFromUTF8 in
 * its strict mode refuses overlongs, surrogates and code points past U+10FFFF, as RFC 3629
 * does): same verdict on every input, and the same UTF-16 units for valid ones. */
#include "util/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    char *text = malloc(size ? size : 1);
    UChar *icu = malloc((size + 1) * sizeof(UChar));
    uint16_t *ours = malloc((size ? size : 1) * sizeof(uint16_t));
    if (!text || !icu || !ours)
        abort();
    memcpy(text, data, size);
    bool valid = utf8_is_valid(text, size);
    UErrorCode status = U_ZERO_ERROR;
    int32_t icu_len = 0;
    u_strFromUTF8(icu, (int32_t)size + 1, &icu_len, text, (int32_t)size, &status);
    bool icu_valid = U_SUCCESS(status);
    if (valid != icu_valid) {
        fprintf(stderr, "utf8_is_valid says %d, ICU says %d (%s)\n", valid, icu_valid,
                u_errorName(status));
        abort();
    }
    if (valid) {
        size_t n = utf8_to_utf16(text, size, ours);
        if (n != (size_t)icu_len || memcmp(ours, icu, n * sizeof(uint16_t)) != 0) {
            fprintf(stderr, "utf8_to_utf16 gave %zu units, ICU %d\n", n, icu_len);
            abort();
        }
    }
    free(text);
    free(icu);
    free(ours);
    return 0;
}
