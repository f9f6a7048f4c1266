
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * Prints N demo accounts as CSV lines "<EIP-55 address>,<decimal balance>",
 * ready for
 *
 *     COPY current_state (id, balance) FROM STDIN (FORMAT csv)
 *
 * usage: gen_accounts N [seed]
 *
 * The same N and seed always give the same lines.  Addresses are 20
 * pseudo-random bytes (splitmix64).  Balances are exact decimals spread
 * from 0 to 2^256 - 1: zeros, 64-bit values of every magnitude, wei-scale
 * amounts around 10^18 .. 10^24, values beyond 2^64 up to 77 digits, and
 * a few within 2^64 of 2^256 - 1 (that value itself included).
 */


#include <stdio.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "ngx_http_balance_address.h"


#define GEN_ACCOUNTS_DEFAULT_SEED  1

/* 2^256 - 1 has 78 digits */
#define GEN_ACCOUNTS_MAX_DIGITS    78


static uint64_t gen_accounts_next(uint64_t *rng);
static int gen_accounts_number(const char *s, int base, uint64_t *n);
static void gen_accounts_address(uint64_t *rng, char *out);
static size_t gen_accounts_balance(uint64_t *rng, char *out);
static size_t gen_accounts_digits(uint64_t *rng, size_t min, size_t max,
    char *out);
static size_t gen_accounts_near_max(uint64_t *rng, char *out);


static const char  gen_accounts_max[] =
    "115792089237316195423570985008687907853"
    "269984665640564039457584007913129639935";


int
main(int argc, char **argv)
{
    char      address[NGX_HTTP_BALANCE_ADDRESS_LEN];
    char      balance[GEN_ACCOUNTS_MAX_DIGITS + 1];
    size_t    len;
    uint64_t  n, i, rng;

    rng = GEN_ACCOUNTS_DEFAULT_SEED;

    if (argc < 2 || argc > 3
        || gen_accounts_number(argv[1], 10, &n) != 0
        || (argc == 3 && gen_accounts_number(argv[2], 0, &rng) != 0))
    {
        fprintf(stderr, "usage: %s N [seed]\n"
                "prints N demo accounts as CSV \"address,balance\"\n",
                argv[0]);
        return 2;
    }

    for (i = 0; i < n; i++) {
        gen_accounts_address(&rng, address);
        len = gen_accounts_balance(&rng, balance);

        printf("%.*s,%.*s\n", NGX_HTTP_BALANCE_ADDRESS_LEN, address,
               (int) len, balance);
    }

    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gen_accounts: stdout");
        return 1;
    }

    return 0;
}


/* splitmix64 (Steele, Lea, Flood), as in Java's SplittableRandom */

static uint64_t
gen_accounts_next(uint64_t *rng)
{
    uint64_t  z;

    *rng += 0x9e3779b97f4a7c15;

    z = *rng;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;

    return z ^ (z >> 31);
}


static int
gen_accounts_number(const char *s, int base, uint64_t *n)
{
    char                *end;
    unsigned long long   v;

    if (*s < '0' || *s > '9') {
        return -1;
    }

    v = strtoull(s, &end, base);

    if (*end != '\0' || v == ULLONG_MAX) {
        return -1;
    }

    *n = v;

    return 0;
}


static void
gen_accounts_address(uint64_t *rng, char *out)
{
    u_char    hex[NGX_HTTP_BALANCE_ADDRESS_LEN - 2];
    size_t    i;
    uint64_t  r;

    static const char  digits[] = "0123456789abcdef";

    r = 0;

    for (i = 0; i < NGX_HTTP_BALANCE_ADDRESS_LEN - 2; i++) {
        if (i % 16 == 0) {
            r = gen_accounts_next(rng);
        }

        hex[i] = (u_char) digits[r & 0x0f];
        r >>= 4;
    }

    out[0] = '0';
    out[1] = 'x';

    ngx_http_balance_address_checksum(hex, (u_char *) out + 2);
}


static size_t
gen_accounts_balance(uint64_t *rng, char *out)
{
    int       k;
    uint64_t  pick, v;

    pick = gen_accounts_next(rng) % 100;

    if (pick < 10) {
        out[0] = '0';
        return 1;
    }

    if (pick < 35) {

        /* 64-bit values of every magnitude */

        k = (int) (gen_accounts_next(rng) % 64);
        v = gen_accounts_next(rng) >> k;

        return (size_t) snprintf(out, GEN_ACCOUNTS_MAX_DIGITS + 1,
                                 "%" PRIu64, v);
    }

    if (pick < 75) {

        /* wei-scale: 1 to 1,000,000 ether */

        return gen_accounts_digits(rng, 19, 25, out);
    }

    if (pick < 90) {
        return gen_accounts_digits(rng, 20, 40, out);
    }

    if (pick < 97) {

        /* below 10^77, so below 2^256 */

        return gen_accounts_digits(rng, 41, GEN_ACCOUNTS_MAX_DIGITS - 1, out);
    }

    return gen_accounts_near_max(rng, out);
}


/* a decimal of "min" to "max" digits, the first one not zero */

static size_t
gen_accounts_digits(uint64_t *rng, size_t min, size_t max, char *out)
{
    size_t  i, len;

    len = min + (size_t) (gen_accounts_next(rng) % (max - min + 1));

    out[0] = (char) ('1' + gen_accounts_next(rng) % 9);

    for (i = 1; i < len; i++) {
        out[i] = (char) ('0' + gen_accounts_next(rng) % 10);
    }

    return len;
}


/* 2^256 - 1 - r, r a 64-bit value of random magnitude, or zero */

static size_t
gen_accounts_near_max(uint64_t *rng, char *out)
{
    int       d, k, borrow;
    char      sub[24];
    size_t    i, n;
    uint64_t  r;

    k = (int) (gen_accounts_next(rng) % 65);
    r = (k == 64) ? 0 : gen_accounts_next(rng) >> k;

    n = (size_t) snprintf(sub, sizeof(sub), "%" PRIu64, r);

    memcpy(out, gen_accounts_max, GEN_ACCOUNTS_MAX_DIGITS);

    borrow = 0;

    for (i = 0; i < GEN_ACCOUNTS_MAX_DIGITS; i++) {
        d = out[GEN_ACCOUNTS_MAX_DIGITS - 1 - i] - '0' - borrow;

        if (i < n) {
            d -= sub[n - 1 - i] - '0';
        }

        borrow = (d < 0);

        if (borrow) {
            d += 10;
        }

        out[GEN_ACCOUNTS_MAX_DIGITS - 1 - i] = (char) ('0' + d);
    }

    /* r < 2^64 leaves 2^256 - 1 - r with all 78 digits */

    return GEN_ACCOUNTS_MAX_DIGITS;
}
