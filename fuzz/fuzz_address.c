
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * libFuzzer harness: bytes as an address string through
 * ngx_http_balance_address_parse(), lenient and strict.
 *
 * Invariants:
 *  - the verdict of the lenient mode is eth_utils.is_address's, computed
 *    here independently: an optional 0x/0X, then exactly 40 hex digits;
 *  - on success the output is "0x" + 40 hex digits, the input's digits with
 *    only the case of letters changed, and parsing the output again (either
 *    mode) gives the output itself;
 *  - strict mode accepts what the lenient mode outputs, agrees with it on
 *    every input that is not mixed-case, refuses only with BAD_CHECKSUM on
 *    what lenient accepts, and gives the same output when it accepts;
 *  - the output may be the input's own memory.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_balance_address.h"


#define FUZZ_ASSERT(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: assertion failed: %s\n",                  \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)


static int
fuzz_is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}


static uint8_t
fuzz_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t) (c | 0x20) : c;
}


/* the 40 digits of a valid address, or NULL */

static const uint8_t *
fuzz_reference(const uint8_t *in, size_t len, int *mixed)
{
    size_t  i;
    int     lower, upper;

    if (len == 42 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
        in += 2;
        len -= 2;
    }

    if (len != 40) {
        return NULL;
    }

    lower = 0;
    upper = 0;

    for (i = 0; i < 40; i++) {
        if (!fuzz_is_hex(in[i])) {
            return NULL;
        }

        lower |= (in[i] >= 'a' && in[i] <= 'f');
        upper |= (in[i] >= 'A' && in[i] <= 'F');
    }

    *mixed = lower && upper;

    return in;
}


static void
fuzz_check_output(const u_char *out, const uint8_t *digits)
{
    size_t  i;
    u_char  again[NGX_HTTP_BALANCE_ADDRESS_LEN];

    FUZZ_ASSERT(out[0] == '0' && out[1] == 'x');

    for (i = 0; i < 40; i++) {
        FUZZ_ASSERT(fuzz_is_hex(out[2 + i]));
        FUZZ_ASSERT(fuzz_lower(out[2 + i]) == fuzz_lower(digits[i]));
    }

    /* the checksummed form is a fixed point, in both modes */

    FUZZ_ASSERT(ngx_http_balance_address_parse(out, NGX_HTTP_BALANCE_ADDRESS_LEN,
                                               0, again)
                == NGX_HTTP_BALANCE_ADDRESS_OK);
    FUZZ_ASSERT(memcmp(again, out, NGX_HTTP_BALANCE_ADDRESS_LEN) == 0);

    FUZZ_ASSERT(ngx_http_balance_address_parse(out, NGX_HTTP_BALANCE_ADDRESS_LEN,
                                               1, again)
                == NGX_HTTP_BALANCE_ADDRESS_OK);
    FUZZ_ASSERT(memcmp(again, out, NGX_HTTP_BALANCE_ADDRESS_LEN) == 0);

    /* without the prefix too */

    FUZZ_ASSERT(ngx_http_balance_address_parse(out + 2, 40, 1, again)
                == NGX_HTTP_BALANCE_ADDRESS_OK);
    FUZZ_ASSERT(memcmp(again, out, NGX_HTTP_BALANCE_ADDRESS_LEN) == 0);
}


static ngx_http_balance_address_cache_t  fuzz_cache;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             lenient, strict, mixed;
    u_char         *out, *out2, *copy;
    u_char          cached[NGX_HTTP_BALANCE_ADDRESS_LEN];
    const uint8_t  *digits;

    /* exactly sized heap buffers: ASan sees any write past the end */

    out = malloc(NGX_HTTP_BALANCE_ADDRESS_LEN);
    out2 = malloc(NGX_HTTP_BALANCE_ADDRESS_LEN);
    if (out == NULL || out2 == NULL) {
        abort();
    }

    mixed = 0;
    digits = fuzz_reference(data, size, &mixed);

    lenient = ngx_http_balance_address_parse(data, size, 0, out);
    strict = ngx_http_balance_address_parse(data, size, 1, out2);

    /* the checksum cache, warm across inputs, must change nothing */
    FUZZ_ASSERT(ngx_http_balance_address_parse_cached(data, size, 0, cached,
                                                      &fuzz_cache)
                == lenient);

    if (lenient == NGX_HTTP_BALANCE_ADDRESS_OK) {
        FUZZ_ASSERT(memcmp(cached, out, NGX_HTTP_BALANCE_ADDRESS_LEN) == 0);
    }

    FUZZ_ASSERT(ngx_http_balance_address_parse_cached(data, size, 1, cached,
                                                      &fuzz_cache)
                == strict);

    if (digits == NULL) {
        FUZZ_ASSERT(lenient == NGX_HTTP_BALANCE_ADDRESS_INVALID);
        FUZZ_ASSERT(strict == NGX_HTTP_BALANCE_ADDRESS_INVALID);
        goto done;
    }

    FUZZ_ASSERT(lenient == NGX_HTTP_BALANCE_ADDRESS_OK);
    fuzz_check_output(out, digits);

    if (!mixed) {
        FUZZ_ASSERT(strict == NGX_HTTP_BALANCE_ADDRESS_OK);
    }

    if (strict == NGX_HTTP_BALANCE_ADDRESS_OK) {
        FUZZ_ASSERT(memcmp(out, out2, NGX_HTTP_BALANCE_ADDRESS_LEN) == 0);

    } else {
        FUZZ_ASSERT(strict == NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM);
        FUZZ_ASSERT(mixed);
        /* a mixed-case address strict refuses is not the checksummed form */
        FUZZ_ASSERT(memcmp(digits, out + 2, 40) != 0);
    }

    /* in place: the output over the input's own bytes */

    if (size == NGX_HTTP_BALANCE_ADDRESS_LEN) {
        copy = malloc(size);
        if (copy == NULL) {
            abort();
        }

        memcpy(copy, data, size);
        FUZZ_ASSERT(ngx_http_balance_address_parse(copy, size, 0, copy)
                    == NGX_HTTP_BALANCE_ADDRESS_OK);
        FUZZ_ASSERT(memcmp(copy, out, NGX_HTTP_BALANCE_ADDRESS_LEN) == 0);
        free(copy);
    }

done:

    free(out);
    free(out2);

    return 0;
}
