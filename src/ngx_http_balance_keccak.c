
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * Keccak-256 with the original Keccak padding, as Ethereum uses it.
 *
 * The sponge is written here by hand because no system library offers it:
 * OpenSSL 3.0 (Debian 12) has only FIPS 202 SHA3-256 (padding 0x06), and
 * nettle 3.8 exposes the Keccak-f[1600] permutation (sha3_permute()) but
 * its sha3_256 functions also apply the FIPS 202 padding.  So we take the
 * permutation from nettle and do absorb, pad (0x01 ... 0x80) and squeeze
 * ourselves.
 */


#include <stdint.h>
#include <string.h>

#include <nettle/sha3.h>

#include "ngx_http_balance_keccak.h"


/* bytes absorbed per permutation: (1600 - 2 * 256) / 8 */
#define NGX_HTTP_BALANCE_KECCAK_RATE  136


static void ngx_http_balance_keccak_absorb(struct sha3_state *state,
    const u_char *block);


void
ngx_http_balance_keccak256(const u_char *in, size_t len, u_char *out)
{
    size_t             i, n;
    u_char             last[NGX_HTTP_BALANCE_KECCAK_RATE];
    uint64_t           lane;
    struct sha3_state  state;

    memset(&state, 0, sizeof(struct sha3_state));

    while (len >= NGX_HTTP_BALANCE_KECCAK_RATE) {
        ngx_http_balance_keccak_absorb(&state, in);
        sha3_permute(&state);

        in += NGX_HTTP_BALANCE_KECCAK_RATE;
        len -= NGX_HTTP_BALANCE_KECCAK_RATE;
    }

    /* the final, possibly empty, block with padding 0x01 0x00 ... 0x80 */

    if (len) {
        memcpy(last, in, len);
    }

    memset(last + len, 0, NGX_HTTP_BALANCE_KECCAK_RATE - len);

    last[len] |= 0x01;
    last[NGX_HTTP_BALANCE_KECCAK_RATE - 1] |= 0x80;

    ngx_http_balance_keccak_absorb(&state, last);
    sha3_permute(&state);

    /* squeeze: 32 bytes fit in the first block, lanes little-endian */

    for (i = 0; i < NGX_HTTP_BALANCE_KECCAK256_LEN / 8; i++) {
        lane = state.a[i];

        for (n = 0; n < 8; n++) {
            *out++ = (u_char) (lane >> (8 * n));
        }
    }
}


static void
ngx_http_balance_keccak_absorb(struct sha3_state *state, const u_char *block)
{
    size_t    i, n;
    uint64_t  lane;

    for (i = 0; i < NGX_HTTP_BALANCE_KECCAK_RATE / 8; i++) {
        lane = 0;

        for (n = 0; n < 8; n++) {
            lane |= (uint64_t) block[8 * i + n] << (8 * n);
        }

        state->a[i] ^= lane;
    }
}
