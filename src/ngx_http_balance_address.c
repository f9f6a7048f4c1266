
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <string.h>

#include "ngx_http_balance_keccak.h"
#include "ngx_http_balance_address.h"


/* hex digits of an address without its "0x" prefix */
#define NGX_HTTP_BALANCE_ADDRESS_HEX_LEN  40

/* the value of a lowercase hex digit */
#define ngx_http_balance_nibble(c)  ((c) <= '9' ? (c) - '0' : (c) - 'a' + 10)


int
ngx_http_balance_address_parse(const u_char *in, size_t len, int strict,
    u_char *out)
{
    return ngx_http_balance_address_parse_cached(in, len, strict, out, NULL);
}


int
ngx_http_balance_address_parse_cached(const u_char *in, size_t len,
    int strict, u_char *out, ngx_http_balance_address_cache_t *cache)
{
    int     has_lower, has_upper;
    u_char  c;
    u_char  lower[NGX_HTTP_BALANCE_ADDRESS_HEX_LEN];
    u_char  checked[NGX_HTTP_BALANCE_ADDRESS_HEX_LEN];
    size_t  i, slot;

    if (len == NGX_HTTP_BALANCE_ADDRESS_LEN
        && in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
    {
        in += 2;
        len -= 2;
    }

    if (len != NGX_HTTP_BALANCE_ADDRESS_HEX_LEN) {
        return NGX_HTTP_BALANCE_ADDRESS_INVALID;
    }

    /* lowercase while checking, and note whether both cases occur */

    has_lower = 0;
    has_upper = 0;

    for (i = 0; i < NGX_HTTP_BALANCE_ADDRESS_HEX_LEN; i++) {
        c = in[i];

        if (c >= '0' && c <= '9') {
            lower[i] = c;
            continue;
        }

        if (c >= 'a' && c <= 'f') {
            has_lower = 1;
            lower[i] = c;
            continue;
        }

        if (c >= 'A' && c <= 'F') {
            has_upper = 1;
            lower[i] = (u_char) (c | 0x20);
            continue;
        }

        return NGX_HTTP_BALANCE_ADDRESS_INVALID;
    }

    if (cache == NULL) {
        ngx_http_balance_address_checksum(lower, checked);

    } else {
        /* the hex digits are uniform: the first three pick the slot */
        slot = (ngx_http_balance_nibble(lower[0]) << 8
                | ngx_http_balance_nibble(lower[1]) << 4
                | ngx_http_balance_nibble(lower[2]))
               & (NGX_HTTP_BALANCE_ADDRESS_CACHE - 1);

        if (memcmp(cache->lower[slot], lower,
                   NGX_HTTP_BALANCE_ADDRESS_HEX_LEN)
            != 0)
        {
            ngx_http_balance_address_checksum(lower, cache->checked[slot]);
            memcpy(cache->lower[slot], lower, NGX_HTTP_BALANCE_ADDRESS_HEX_LEN);
        }

        memcpy(checked, cache->checked[slot], NGX_HTTP_BALANCE_ADDRESS_HEX_LEN);
    }

    /* EIP-55 constrains only addresses that mix upper and lower case */

    if (strict && has_lower && has_upper
        && memcmp(in, checked, NGX_HTTP_BALANCE_ADDRESS_HEX_LEN) != 0)
    {
        return NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM;
    }

    /* "out" is written last, so it may be the same memory as "in" */

    out[0] = '0';
    out[1] = 'x';
    memcpy(out + 2, checked, NGX_HTTP_BALANCE_ADDRESS_HEX_LEN);

    return NGX_HTTP_BALANCE_ADDRESS_OK;
}


void
ngx_http_balance_address_checksum(const u_char *hex, u_char *out)
{
    u_char  c, nibble;
    u_char  hash[NGX_HTTP_BALANCE_KECCAK256_LEN];
    size_t  i;

    ngx_http_balance_keccak256(hex, NGX_HTTP_BALANCE_ADDRESS_HEX_LEN, hash);

    for (i = 0; i < NGX_HTTP_BALANCE_ADDRESS_HEX_LEN; i++) {
        c = hex[i];

        nibble = (i & 1) ? (hash[i / 2] & 0x0f) : (hash[i / 2] >> 4);

        if (c >= 'a' && c <= 'f' && nibble >= 8) {
            c = (u_char) (c & ~0x20);
        }

        out[i] = c;
    }
}
