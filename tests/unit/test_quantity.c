
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <inttypes.h>
#include <cmocka.h>

#include "ngx_http_balance_quantity.h"


typedef struct {
    const char  *dec;
    const char  *hex;
} test_quantity_vector_t;


static void test_quantity_expect(const char *dec, size_t len,
    const char *hex);
static void test_quantity_reject(const char *dec, size_t len);
static void test_quantity_vectors(void **state);
static void test_quantity_zero_fraction(void **state);
static void test_quantity_invalid(void **state);
static void test_quantity_digit_limit(void **state);
static void test_quantity_powers_of_two(void **state);
static void test_quantity_random_u64(void **state);


/* expected values computed independently with JavaScript BigInt */
static const test_quantity_vector_t  test_quantity_vectors_tab[] = {
    { "0", "0x0" },
    { "000", "0x0" },
    { "1", "0x1" },
    { "15", "0xf" },
    { "16", "0x10" },
    { "255", "0xff" },
    { "256", "0x100" },
    { "00012", "0xc" },
    { "999999999", "0x3b9ac9ff" },
    { "1000000000", "0x3b9aca00" },
    { "4294967295", "0xffffffff" },
    { "4294967296", "0x100000000" },
    { "9007199254740993", "0x20000000000001" },
    { "18446744073709551615", "0xffffffffffffffff" },
    { "18446744073709551616", "0x10000000000000000" },
    { "1000000000000000000000000", "0xd3c21bcecceda1000000" },

    /* 2^256 - 1 */
    { "115792089237316195423570985008687907853"
      "269984665640564039457584007913129639935",
      "0xffffffffffffffffffffffffffffffff"
      "ffffffffffffffffffffffffffffffff" },

    /* 2^256 */
    { "115792089237316195423570985008687907853"
      "269984665640564039457584007913129639936",
      "0x10000000000000000000000000000000"
      "000000000000000000000000000000000" },

    /* 10^78 - 1 */
    { "999999999999999999999999999999999999999"
      "999999999999999999999999999999999999999",
      "0x8a2dbf142dfcc7ab6e3569326c7843372"
      "a9f4d2505e3a3fffffffffffffffffff" },

    /* 10^78 - 1 with leading zeros */
    { "000999999999999999999999999999999999999999"
      "999999999999999999999999999999999999999",
      "0x8a2dbf142dfcc7ab6e3569326c7843372"
      "a9f4d2505e3a3fffffffffffffffffff" }
};


static void
test_quantity_expect(const char *dec, size_t len, const char *hex)
{
    char     out[NGX_HTTP_BALANCE_QUANTITY_MAX_LEN + 1];
    ssize_t  n;

    memset(out, '#', sizeof(out));

    n = ngx_http_balance_quantity_from_decimal((const u_char *) dec, len,
                                               (u_char *) out);

    if (n < 0) {
        fail_msg("\"%.*s\" rejected, expected %s", (int) len, dec, hex);
    }

    assert_int_equal(out[NGX_HTTP_BALANCE_QUANTITY_MAX_LEN], '#');
    assert_true(n <= NGX_HTTP_BALANCE_QUANTITY_MAX_LEN);

    out[n] = '\0';
    assert_string_equal(out, hex);
}


static void
test_quantity_reject(const char *dec, size_t len)
{
    char     out[NGX_HTTP_BALANCE_QUANTITY_MAX_LEN + 1];
    ssize_t  n;

    n = ngx_http_balance_quantity_from_decimal((const u_char *) dec, len,
                                               (u_char *) out);

    if (n != -1) {
        fail_msg("\"%.*s\" accepted (%zd)",
                 (int) len, dec ? dec : "", n);
    }
}


static void
test_quantity_vectors(void **state)
{
    size_t       i;
    const char  *dec;

    (void) state;

    for (i = 0; i < sizeof(test_quantity_vectors_tab)
                    / sizeof(test_quantity_vectors_tab[0]); i++)
    {
        dec = test_quantity_vectors_tab[i].dec;
        test_quantity_expect(dec, strlen(dec),
                             test_quantity_vectors_tab[i].hex);
    }

    /* only "len" bytes count */

    test_quantity_expect("25612", 3, "0x100");
}


static void
test_quantity_zero_fraction(void **state)
{
    (void) state;

    test_quantity_expect("5.000", 5, "0x5");
    test_quantity_expect("5.0", 3, "0x5");
    test_quantity_expect("0.00", 4, "0x0");
    test_quantity_expect("256.0", 5, "0x100");
    test_quantity_expect("115792089237316195423570985008687907853"
                         "269984665640564039457584007913129639935.000",
                         82,
                         "0xffffffffffffffffffffffffffffffff"
                         "ffffffffffffffffffffffffffffffff");

    test_quantity_reject("5.1", 3);
    test_quantity_reject("5.0001", 6);
    test_quantity_reject("5.000000000000000000000000000001", 32);
    test_quantity_reject("5.", 2);
    test_quantity_reject(".0", 2);
    test_quantity_reject(".", 1);
    test_quantity_reject("5.0.0", 5);
    test_quantity_reject("5..0", 4);
    test_quantity_reject("5,000", 5);
}


static void
test_quantity_invalid(void **state)
{
    (void) state;

    test_quantity_reject("", 0);
    test_quantity_reject(NULL, 0);
    test_quantity_reject("-1", 2);
    test_quantity_reject("-0", 2);
    test_quantity_reject("+1", 2);
    test_quantity_reject("1e3", 3);
    test_quantity_reject("1E3", 3);
    test_quantity_reject("1.5e3", 5);
    test_quantity_reject(" 1", 2);
    test_quantity_reject("1 ", 2);
    test_quantity_reject("1\n", 2);
    test_quantity_reject("1 000", 5);
    test_quantity_reject("NaN", 3);
    test_quantity_reject("Infinity", 8);
    test_quantity_reject("-Infinity", 9);
    test_quantity_reject("0x10", 4);
    test_quantity_reject("12a", 3);
    test_quantity_reject("1\0", 2);
    test_quantity_reject("\0" "1", 2);
    test_quantity_reject("\xd9\xa1", 2);
}


static void
test_quantity_digit_limit(void **state)
{
    char  buf[100];

    (void) state;

    /* 78 nines pass, 79 digits (10^78, 79 nines) do not */

    memset(buf, '9', 79);
    test_quantity_expect(buf, 78,
                         "0x8a2dbf142dfcc7ab6e3569326c7843372"
                         "a9f4d2505e3a3fffffffffffffffffff");
    test_quantity_reject(buf, 79);

    buf[0] = '1';
    memset(buf + 1, '0', 78);
    test_quantity_reject(buf, 79);

    /* leading zeros do not count: 21 zeros, then 78 digits */

    memset(buf, '0', 21);
    memset(buf + 21, '9', 78);
    test_quantity_expect(buf, 99,
                         "0x8a2dbf142dfcc7ab6e3569326c7843372"
                         "a9f4d2505e3a3fffffffffffffffffff");

    /* but do not make a long number short: "0" + 79 digits */

    buf[0] = '0';
    buf[1] = '1';
    memset(buf + 2, '0', 78);
    test_quantity_reject(buf, 80);

    /* all zeros, however many */

    memset(buf, '0', sizeof(buf));
    test_quantity_expect(buf, sizeof(buf), "0x0");
}


static void
test_quantity_powers_of_two(void **state)
{
    int     carry, d;
    char    dec[100];
    char    hex[100];
    size_t  k, i, n;

    (void) state;

    /*
     * 2^k for k = 0 .. 259 (the last with 78 digits), the decimal built
     * by doubling a digit string, the hex known: 1, 2, 4 or 8 then zeros.
     * 2^260 has 79 digits and is refused.
     */

    dec[0] = '1';
    n = 1;

    for (k = 0; k <= 260; k++) {
        if (k == 260) {
            assert_int_equal(n, 79);
            test_quantity_reject(dec, n);
            break;
        }

        hex[0] = '0';
        hex[1] = 'x';
        hex[2] = "1248"[k % 4];
        memset(hex + 3, '0', k / 4);
        hex[3 + k / 4] = '\0';

        test_quantity_expect(dec, n, hex);

        /* dec = dec * 2 */

        carry = 0;

        for (i = n; i > 0; i--) {
            d = (dec[i - 1] - '0') * 2 + carry;
            dec[i - 1] = (char) ('0' + d % 10);
            carry = d / 10;
        }

        if (carry) {
            memmove(dec + 1, dec, n);
            dec[0] = '1';
            n++;
        }
    }
}


static void
test_quantity_random_u64(void **state)
{
    int       i;
    char      dec[32];
    char      hex[32];
    uint64_t  x, z;

    (void) state;

    /* splitmix64 values, shifted to cover every length, against printf */

    x = 0x2545f4914f6cdd1d;

    for (i = 0; i < 20000; i++) {
        x += 0x9e3779b97f4a7c15;
        z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        z ^= z >> 31;

        z >>= i % 64;

        snprintf(dec, sizeof(dec), "%" PRIu64, z);
        snprintf(hex, sizeof(hex), "0x%" PRIx64, z);

        test_quantity_expect(dec, strlen(dec), hex);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_quantity_vectors),
        cmocka_unit_test(test_quantity_zero_fraction),
        cmocka_unit_test(test_quantity_invalid),
        cmocka_unit_test(test_quantity_digit_limit),
        cmocka_unit_test(test_quantity_powers_of_two),
        cmocka_unit_test(test_quantity_random_u64),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
