
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * libFuzzer harness: bytes as PostgreSQL's text of a numeric through
 * ngx_http_balance_quantity_from_decimal().
 *
 * The verdict is checked against the documented grammar, computed here:
 * one or more digits, optionally "." and one or more zeros, at most 78
 * digits once leading zeros are dropped.  An accepted number is checked
 * against an independent slow conversion: schoolbook long division of the
 * decimal digit string by 16, one remainder (hex digit) per pass.  The
 * output buffer is exactly NGX_HTTP_BALANCE_QUANTITY_MAX_LEN bytes on the
 * heap, so ASan sees any write past it.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_balance_quantity.h"


#define FUZZ_ASSERT(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: assertion failed: %s\n",                  \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)


/* the digits of the integer part when the input is valid, else -1 */

static ssize_t
fuzz_grammar(const uint8_t *p, size_t len)
{
    size_t  n, i, lead;

    for (n = 0; n < len && p[n] >= '0' && p[n] <= '9'; n++) {
        /* void */
    }

    if (n == 0) {
        return -1;
    }

    if (n < len) {
        if (p[n] != '.' || n + 1 == len) {
            return -1;
        }

        for (i = n + 1; i < len; i++) {
            if (p[i] != '0') {
                return -1;
            }
        }
    }

    for (lead = 0; lead < n && p[lead] == '0'; lead++) {
        /* void */
    }

    if (n - lead > NGX_HTTP_BALANCE_QUANTITY_MAX_DIGITS) {
        return -1;
    }

    return (ssize_t) n;
}


/*
 * Long division: the decimal number in dec[0..n) (digit values 0-9, most
 * significant first) divided by 16 over and over; the remainders, last
 * first, are the hex digits.  Writes "0x..." to out and returns its length.
 */

static size_t
fuzz_slow_hex(const uint8_t *p, size_t n, char *out)
{
    char      rev[NGX_HTTP_BALANCE_QUANTITY_MAX_LEN * 2];
    uint8_t   dec[NGX_HTTP_BALANCE_QUANTITY_MAX_DIGITS + 1];
    size_t    i, len, nrev, start;
    unsigned  rem, cur;

    static const char  hex[] = "0123456789abcdef";

    /* leading zeros dropped (there may be more of them than MAX_DIGITS) */

    for (start = 0; start < n && p[start] == '0'; start++) {
        /* void */
    }

    len = n - start;
    FUZZ_ASSERT(len <= NGX_HTTP_BALANCE_QUANTITY_MAX_DIGITS);

    for (i = 0; i < len; i++) {
        dec[i] = (uint8_t) (p[start + i] - '0');
    }

    nrev = 0;

    while (len > 0) {
        rem = 0;

        for (i = 0; i < len; i++) {
            cur = rem * 10 + dec[i];
            dec[i] = (uint8_t) (cur / 16);
            rem = cur % 16;
        }

        rev[nrev++] = hex[rem];

        /* drop the quotient's leading zeros */

        for (i = 0; i < len && dec[i] == 0; i++) {
            /* void */
        }

        memmove(dec, dec + i, len - i);
        len -= i;
    }

    out[0] = '0';
    out[1] = 'x';

    if (nrev == 0) {
        out[2] = '0';
        return 3;
    }

    for (i = 0; i < nrev; i++) {
        out[2 + i] = rev[nrev - 1 - i];
    }

    return 2 + nrev;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char     want[NGX_HTTP_BALANCE_QUANTITY_MAX_LEN * 2];
    u_char  *out;
    size_t   wlen, i;
    ssize_t  n, digits;

    out = malloc(NGX_HTTP_BALANCE_QUANTITY_MAX_LEN);
    if (out == NULL) {
        abort();
    }

    n = ngx_http_balance_quantity_from_decimal(data, size, out);
    digits = fuzz_grammar(data, size);

    if (digits < 0) {
        FUZZ_ASSERT(n == -1);
        free(out);
        return 0;
    }

    FUZZ_ASSERT(n >= 3 && n <= NGX_HTTP_BALANCE_QUANTITY_MAX_LEN);
    FUZZ_ASSERT(out[0] == '0' && out[1] == 'x');

    /* lowercase hex, no leading zero unless the number is zero */

    for (i = 2; i < (size_t) n; i++) {
        FUZZ_ASSERT((out[i] >= '0' && out[i] <= '9')
                    || (out[i] >= 'a' && out[i] <= 'f'));
    }

    FUZZ_ASSERT(out[2] != '0' || n == 3);

    wlen = fuzz_slow_hex(data, (size_t) digits, want);

    if ((size_t) n != wlen || memcmp(out, want, wlen) != 0) {
        fprintf(stderr, "quantity mismatch for \"%.*s\": got %.*s, want %.*s\n",
                (int) size, (const char *) data, (int) n, (const char *) out,
                (int) wlen, want);
        abort();
    }

    free(out);

    return 0;
}
