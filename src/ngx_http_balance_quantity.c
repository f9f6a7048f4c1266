
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_balance_quantity.h"


/* 32-bit limbs, least significant first: 10^78 - 1 < 2^260 needs 9 */
#define NGX_HTTP_BALANCE_QUANTITY_LIMBS  9

/* decimal digits folded in per multiply-and-add: 10^9 < 2^32 */
#define NGX_HTTP_BALANCE_QUANTITY_CHUNK  9


static const uint32_t  ngx_http_balance_quantity_pow10[] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
    1000000000
};

static const u_char  ngx_http_balance_quantity_hex[] = "0123456789abcdef";


ssize_t
ngx_http_balance_quantity_from_decimal(const u_char *dec, size_t len,
    u_char *out)
{
    u_char    hex[NGX_HTTP_BALANCE_QUANTITY_LIMBS * 8];
    size_t    i, n, digits, chunk;
    uint32_t  v, add, mul, carry;
    uint32_t  limb[NGX_HTTP_BALANCE_QUANTITY_LIMBS];
    uint64_t  t;

    /* integer part: one digit at least */

    for (n = 0; n < len && dec[n] >= '0' && dec[n] <= '9'; n++) {
        /* void */
    }

    if (n == 0) {
        return -1;
    }

    /* an optional fraction of zeros only, as numeric prints "5.000" */

    if (n < len) {
        if (dec[n] != '.' || n + 1 == len) {
            return -1;
        }

        for (i = n + 1; i < len; i++) {
            if (dec[i] != '0') {
                return -1;
            }
        }
    }

    /* leading zeros do not count towards the digit limit */

    for (i = 0; i < n && dec[i] == '0'; i++) {
        /* void */
    }

    dec += i;
    digits = n - i;

    if (digits > NGX_HTTP_BALANCE_QUANTITY_MAX_DIGITS) {
        return -1;
    }

    /* limb = limb * 10^chunk + next chunk of digits, most significant first */

    memset(limb, 0, sizeof(limb));

    chunk = digits % NGX_HTTP_BALANCE_QUANTITY_CHUNK;

    if (chunk == 0) {
        chunk = NGX_HTTP_BALANCE_QUANTITY_CHUNK;
    }

    while (digits) {
        add = 0;

        for (i = 0; i < chunk; i++) {
            add = add * 10 + (uint32_t) (dec[i] - '0');
        }

        mul = ngx_http_balance_quantity_pow10[chunk];
        carry = add;

        for (i = 0; i < NGX_HTTP_BALANCE_QUANTITY_LIMBS; i++) {
            t = (uint64_t) limb[i] * mul + carry;
            limb[i] = (uint32_t) t;
            carry = (uint32_t) (t >> 32);
        }

        dec += chunk;
        digits -= chunk;
        chunk = NGX_HTTP_BALANCE_QUANTITY_CHUNK;
    }

    /* all limbs as hex, most significant first, then drop leading zeros */

    for (i = 0; i < NGX_HTTP_BALANCE_QUANTITY_LIMBS; i++) {
        v = limb[NGX_HTTP_BALANCE_QUANTITY_LIMBS - 1 - i];

        for (n = 8; n > 0; n--) {
            hex[i * 8 + n - 1] = ngx_http_balance_quantity_hex[v & 0x0f];
            v >>= 4;
        }
    }

    for (i = 0; i < sizeof(hex) - 1 && hex[i] == '0'; i++) {
        /* void */
    }

    n = sizeof(hex) - i;

    out[0] = '0';
    out[1] = 'x';
    memcpy(out + 2, hex + i, n);

    return (ssize_t) (n + 2);
}
