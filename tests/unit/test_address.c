
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_balance_address.h"


#define TEST_ADDRESS_HEX_LEN  40


static int test_address_parse(const char *in, size_t len, int strict,
    char *out);
static void test_address_expect(const char *in, int strict,
    const char *expect);
static void test_address_reject(const char *in, size_t len, int strict);
static void test_address_case(char *dst, const char *src, int upper);
static int test_address_mixed(const char *hex);
static void test_address_forms(void **state);
static void test_address_strict(void **state);
static void test_address_flipped(void **state);
static void test_address_checksum(void **state);
static void test_address_invalid(void **state);
static void test_address_in_place(void **state);
static void test_address_cache(void **state);


/* EIP-55's own test vectors, in their checksummed form */
static const char  *test_address_vectors[] = {
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26"
};

#define TEST_ADDRESS_NVECTORS                                                 \
    (sizeof(test_address_vectors) / sizeof(test_address_vectors[0]))


/* returns the parser's code; on success "out" holds a C string */

static int
test_address_parse(const char *in, size_t len, int strict, char *out)
{
    int  rc;

    memset(out, '#', NGX_HTTP_BALANCE_ADDRESS_LEN + 1);

    rc = ngx_http_balance_address_parse((const u_char *) in, len, strict,
                                        (u_char *) out);

    /* nothing beyond the documented length may be written */

    assert_int_equal(out[NGX_HTTP_BALANCE_ADDRESS_LEN], '#');
    out[NGX_HTTP_BALANCE_ADDRESS_LEN] = '\0';

    return rc;
}


static void
test_address_expect(const char *in, int strict, const char *expect)
{
    int   rc;
    char  out[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];

    rc = test_address_parse(in, strlen(in), strict, out);

    if (rc != NGX_HTTP_BALANCE_ADDRESS_OK) {
        fail_msg("\"%s\" (strict %d): rc %d, expected OK", in, strict, rc);
    }

    assert_string_equal(out, expect);
}


static void
test_address_reject(const char *in, size_t len, int strict)
{
    int   rc;
    char  out[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];

    rc = test_address_parse(in, len, strict, out);

    if (rc != NGX_HTTP_BALANCE_ADDRESS_INVALID) {
        fail_msg("\"%.*s\" (len %zu, strict %d): rc %d, expected INVALID",
                 (int) len, in ? in : "", len, strict, rc);
    }
}


/* copies a "0x" address, forcing its hex digits to one case */

static void
test_address_case(char *dst, const char *src, int upper)
{
    char    c;
    size_t  i;

    dst[0] = '0';
    dst[1] = 'x';

    for (i = 2; i < NGX_HTTP_BALANCE_ADDRESS_LEN; i++) {
        c = src[i];

        if (c >= 'a' && c <= 'f' && upper) {
            c = (char) (c - 'a' + 'A');

        } else if (c >= 'A' && c <= 'F' && !upper) {
            c = (char) (c - 'A' + 'a');
        }

        dst[i] = c;
    }

    dst[NGX_HTTP_BALANCE_ADDRESS_LEN] = '\0';
}


static int
test_address_mixed(const char *hex)
{
    int     lower, upper;
    size_t  i;

    lower = 0;
    upper = 0;

    for (i = 0; i < TEST_ADDRESS_HEX_LEN; i++) {
        if (hex[i] >= 'a' && hex[i] <= 'f') {
            lower = 1;

        } else if (hex[i] >= 'A' && hex[i] <= 'F') {
            upper = 1;
        }
    }

    return lower && upper;
}


static void
test_address_forms(void **state)
{
    int          strict;
    char         lower[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];
    char         upper[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];
    char         form[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];
    size_t       i;
    const char  *v;

    (void) state;

    for (strict = 0; strict <= 1; strict++) {
        for (i = 0; i < TEST_ADDRESS_NVECTORS; i++) {
            v = test_address_vectors[i];

            test_address_case(lower, v, 0);
            test_address_case(upper, v, 1);

            /* as given, all lowercase, all uppercase ("0x" prefix) */

            test_address_expect(v, strict, v);
            test_address_expect(lower, strict, v);
            test_address_expect(upper, strict, v);

            /* without a prefix */

            test_address_expect(v + 2, strict, v);
            test_address_expect(lower + 2, strict, v);
            test_address_expect(upper + 2, strict, v);

            /* "0X" prefix */

            memcpy(form, v, sizeof(form));
            form[1] = 'X';
            test_address_expect(form, strict, v);

            memcpy(form, upper, sizeof(form));
            form[1] = 'X';
            test_address_expect(form, strict, v);

            memcpy(form, lower, sizeof(form));
            form[1] = 'X';
            test_address_expect(form, strict, v);
        }
    }
}


static void
test_address_strict(void **state)
{
    int   rc;
    char  out[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];

    (void) state;

    /* one letter's case flipped: 'a' -> 'A' at index 2 */

    rc = test_address_parse("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            NGX_HTTP_BALANCE_ADDRESS_LEN, 1, out);
    assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM);

    /* the same without a prefix and with "0X" */

    rc = test_address_parse("5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            TEST_ADDRESS_HEX_LEN, 1, out);
    assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM);

    rc = test_address_parse("0X5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            NGX_HTTP_BALANCE_ADDRESS_LEN, 1, out);
    assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM);

    /* not strict: accepted and normalised */

    test_address_expect("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 0,
                        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");

    /* digits only: neither case, valid in both modes */

    test_address_expect("0x1234567890123456789012345678901234567890", 1,
                        "0x1234567890123456789012345678901234567890");
    test_address_expect("0000000000000000000000000000000000000000", 1,
                        "0x0000000000000000000000000000000000000000");

    /* syntax errors stay INVALID in strict mode, not BAD_CHECKSUM */

    test_address_reject("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
                        NGX_HTTP_BALANCE_ADDRESS_LEN, 1);
    test_address_reject("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
                        NGX_HTTP_BALANCE_ADDRESS_LEN - 1, 1);
}


static void
test_address_flipped(void **state)
{
    int     rc;
    char    c;
    char    in[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];
    char    out[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];
    size_t  i, k;

    (void) state;

    /*
     * Flip the case of each letter of each vector in turn: strict mode
     * must refuse the result exactly when it mixes cases, and both modes
     * must map an accepted one back to the vector.
     */

    for (i = 0; i < TEST_ADDRESS_NVECTORS; i++) {
        for (k = 2; k < NGX_HTTP_BALANCE_ADDRESS_LEN; k++) {
            memcpy(in, test_address_vectors[i], sizeof(in));

            c = in[k];

            if (c >= 'a' && c <= 'f') {
                in[k] = (char) (c - 'a' + 'A');

            } else if (c >= 'A' && c <= 'F') {
                in[k] = (char) (c - 'A' + 'a');

            } else {
                continue;
            }

            rc = test_address_parse(in, NGX_HTTP_BALANCE_ADDRESS_LEN, 1, out);

            if (test_address_mixed(in + 2)) {
                if (rc != NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM) {
                    fail_msg("strict accepted \"%s\"", in);
                }

            } else {
                assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_OK);
                assert_string_equal(out, test_address_vectors[i]);
            }

            test_address_expect(in, 0, test_address_vectors[i]);
        }
    }
}


static void
test_address_checksum(void **state)
{
    char    lower[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];
    char    out[TEST_ADDRESS_HEX_LEN + 1];
    size_t  i;

    (void) state;

    for (i = 0; i < TEST_ADDRESS_NVECTORS; i++) {
        test_address_case(lower, test_address_vectors[i], 0);

        memset(out, '#', sizeof(out));

        ngx_http_balance_address_checksum((const u_char *) lower + 2,
                                          (u_char *) out);

        assert_int_equal(out[TEST_ADDRESS_HEX_LEN], '#');
        out[TEST_ADDRESS_HEX_LEN] = '\0';

        assert_string_equal(out, test_address_vectors[i] + 2);
    }
}


static void
test_address_invalid(void **state)
{
    int          strict;
    char         buf[64];
    const char  *v;

    (void) state;

    v = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    for (strict = 0; strict <= 1; strict++) {

        /* empty, prefix only, prefix alone in either case */

        test_address_reject("", 0, strict);
        test_address_reject(NULL, 0, strict);
        test_address_reject("0x", 2, strict);
        test_address_reject("0X", 2, strict);
        test_address_reject("0", 1, strict);

        /* 39 and 41 digits, with and without a prefix */

        test_address_reject(v, 41, strict);
        test_address_reject(v + 2, 39, strict);
        test_address_reject("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0",
                            43, strict);
        test_address_reject("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0",
                            41, strict);

        /* 42 digits without a prefix */

        test_address_reject("005aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            42, strict);

        /* a 40-character input starting with "0x" is not 38 digits */

        test_address_reject("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA",
                            40, strict);

        /* non-hex: 'g', 'x' in the body, doubled or odd prefixes */

        test_address_reject("0xgaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            42, strict);
        test_address_reject("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeG",
                            42, strict);
        test_address_reject("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
                            40, strict);
        test_address_reject("0x0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA",
                            42, strict);
        test_address_reject("1x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            42, strict);
        test_address_reject("x05aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            42, strict);
        test_address_reject("0h5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            42, strict);

        /* spaces around or inside, a trailing newline */

        test_address_reject(" 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                            43, strict);
        test_address_reject("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed ",
                            43, strict);
        test_address_reject(" 5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
                            40, strict);
        test_address_reject("0x5aAeb6053F3E94C9b9A 9f33669435E7Ef1BeAed",
                            42, strict);
        test_address_reject("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n",
                            43, strict);

        /* an embedded NUL byte, in place of a digit and appended */

        memcpy(buf, v, 43);
        buf[20] = '\0';
        test_address_reject(buf, 42, strict);

        memcpy(buf, v, 43);
        test_address_reject(buf, 43, strict);

        /* bytes outside ASCII */

        memcpy(buf, v, 43);
        buf[30] = (char) 0xff;
        test_address_reject(buf, 42, strict);

        memcpy(buf, v, 43);
        buf[30] = (char) ('a' | 0x80);
        test_address_reject(buf, 42, strict);
    }
}


static void
test_address_in_place(void **state)
{
    int   rc;
    char  buf[NGX_HTTP_BALANCE_ADDRESS_LEN + 1];

    (void) state;

    /* "out" may be the input buffer itself */

    memcpy(buf, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", sizeof(buf));

    rc = ngx_http_balance_address_parse((u_char *) buf,
                                        NGX_HTTP_BALANCE_ADDRESS_LEN, 1,
                                        (u_char *) buf);

    assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_OK);
    assert_string_equal(buf, test_address_vectors[0]);

    memcpy(buf, "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed##", sizeof(buf));

    rc = ngx_http_balance_address_parse((u_char *) buf, TEST_ADDRESS_HEX_LEN,
                                        0, (u_char *) buf);

    assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_OK);
    assert_string_equal(buf, test_address_vectors[0]);
}


/*
 * The cache gives what the plain parser gives: on a miss, on a hit, after
 * a colliding address replaced the entry, and in strict mode.
 */

static void
test_address_cache(void **state)
{
    int                                rc, pass;
    char                               in[43], out[43], want[43];
    size_t                             i;
    ngx_http_balance_address_cache_t  *cache;

    (void) state;

    cache = calloc(1, sizeof(ngx_http_balance_address_cache_t));
    assert_non_null(cache);

    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < TEST_ADDRESS_NVECTORS; i++) {
            test_address_case(in, test_address_vectors[i], pass == 1);

            rc = ngx_http_balance_address_parse_cached((u_char *) in, 42, 0,
                                                       (u_char *) out, cache);
            assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_OK);
            out[42] = '\0';
            assert_string_equal(out, test_address_vectors[i]);

            /* a wrong checksum is still refused in strict mode */
            memcpy(in, test_address_vectors[i], 43);
            in[41] = (char) (islower((u_char) in[41]) ? toupper((u_char) in[41])
                                                      : tolower((u_char) in[41]));

            if (isalpha((u_char) in[41])) {
                rc = ngx_http_balance_address_parse_cached((u_char *) in, 42,
                                                           1, (u_char *) out,
                                                           cache);
                assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM);
            }
        }
    }

    /* two addresses of one slot (same first three digits) take turns */

    for (pass = 0; pass < 4; pass++) {
        memcpy(in, pass % 2 ? "0x5aa0000000000000000000000000000000000001"
                            : "0x5aa0000000000000000000000000000000000002", 43);

        rc = ngx_http_balance_address_parse((u_char *) in, 42, 0,
                                            (u_char *) want);
        assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_OK);

        rc = ngx_http_balance_address_parse_cached((u_char *) in, 42, 0,
                                                   (u_char *) out, cache);
        assert_int_equal(rc, NGX_HTTP_BALANCE_ADDRESS_OK);
        assert_memory_equal(out, want, 42);
    }

    free(cache);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_address_forms),
        cmocka_unit_test(test_address_strict),
        cmocka_unit_test(test_address_flipped),
        cmocka_unit_test(test_address_checksum),
        cmocka_unit_test(test_address_invalid),
        cmocka_unit_test(test_address_in_place),
        cmocka_unit_test(test_address_cache),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
