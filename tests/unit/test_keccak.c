
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_balance_keccak.h"


/* inputs longer than "abc" are the bytes (i * 7 + 3) & 0xff, i = 0, 1, ... */
typedef struct {
    size_t       len;
    const char  *digest;
} test_keccak_vector_t;


static void test_keccak_hex(const u_char *in, size_t len, char *out);
static void test_keccak_fill(u_char *buf, size_t len);
static void test_keccak_empty(void **state);
static void test_keccak_abc(void **state);
static void test_keccak_vectors(void **state);
static void test_keccak_length_bound(void **state);


/*
 * Expected digests were computed independently with js-sha3 0.9 and
 * @noble/hashes (keccak_256), which agree on every one of them.
 */
static const test_keccak_vector_t  test_keccak_vectors_tab[] = {
    { 135, "00ef96af9cf4b24c7f269d922294444a"
           "197d0a33638c2e56634c57e892103a8f" },
    { 136, "742061bcad767ed4c4f5883b1dcb1aad"
           "11afdcc140dc469d953759b127b9f9ed" },
    { 137, "e3371f61e770abf254c34239c3b0099a"
           "d90594507415bc81dd0a10b9692bbf2a" },
    { 272, "ac141fd7b0a0ffcd2e967254d508da3e"
           "c616596493c36fa304425647d90e6de5" },
    { 1000, "80cdc8dd52cbb3dbaea8f383209893fa"
            "2bb52efbd5aedbb4b26dcfe307fcdc9b" }
};


static void
test_keccak_hex(const u_char *in, size_t len, char *out)
{
    u_char  hash[NGX_HTTP_BALANCE_KECCAK256_LEN];
    size_t  i;

    static const char  digits[] = "0123456789abcdef";

    ngx_http_balance_keccak256(in, len, hash);

    for (i = 0; i < NGX_HTTP_BALANCE_KECCAK256_LEN; i++) {
        out[2 * i] = digits[hash[i] >> 4];
        out[2 * i + 1] = digits[hash[i] & 0x0f];
    }

    out[2 * NGX_HTTP_BALANCE_KECCAK256_LEN] = '\0';
}


static void
test_keccak_fill(u_char *buf, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        buf[i] = (u_char) ((i * 7 + 3) & 0xff);
    }
}


static void
test_keccak_empty(void **state)
{
    char  hex[2 * NGX_HTTP_BALANCE_KECCAK256_LEN + 1];

    (void) state;

    test_keccak_hex((const u_char *) "", 0, hex);
    assert_string_equal(hex, "c5d2460186f7233c927e7db2dcc703c0"
                             "e500b653ca82273b7bfad8045d85a470");

    /* a NULL pointer with zero length must not be dereferenced */

    test_keccak_hex(NULL, 0, hex);
    assert_string_equal(hex, "c5d2460186f7233c927e7db2dcc703c0"
                             "e500b653ca82273b7bfad8045d85a470");
}


static void
test_keccak_abc(void **state)
{
    char  hex[2 * NGX_HTTP_BALANCE_KECCAK256_LEN + 1];

    (void) state;

    test_keccak_hex((const u_char *) "abc", 3, hex);
    assert_string_equal(hex, "4e03657aea45a94fc7d47ba826c8d667"
                             "c0d1e6e33a64a036ec44f58fa12d6c45");
}


static void
test_keccak_vectors(void **state)
{
    char    hex[2 * NGX_HTTP_BALANCE_KECCAK256_LEN + 1];
    u_char  buf[1000];
    size_t  i;

    (void) state;

    test_keccak_fill(buf, sizeof(buf));

    for (i = 0; i < sizeof(test_keccak_vectors_tab)
                    / sizeof(test_keccak_vectors_tab[0]); i++)
    {
        test_keccak_hex(buf, test_keccak_vectors_tab[i].len, hex);
        assert_string_equal(hex, test_keccak_vectors_tab[i].digest);
    }
}


static void
test_keccak_length_bound(void **state)
{
    char    hex[2 * NGX_HTTP_BALANCE_KECCAK256_LEN + 1];
    u_char  buf[200];

    (void) state;

    /* bytes past "len" must not influence the digest */

    test_keccak_fill(buf, sizeof(buf));

    test_keccak_hex(buf, 136, hex);
    assert_string_equal(hex, test_keccak_vectors_tab[1].digest);

    memset(buf + 136, 0xff, sizeof(buf) - 136);

    test_keccak_hex(buf, 136, hex);
    assert_string_equal(hex, test_keccak_vectors_tab[1].digest);

    test_keccak_hex(buf, 135, hex);
    assert_string_equal(hex, test_keccak_vectors_tab[0].digest);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_keccak_empty),
        cmocka_unit_test(test_keccak_abc),
        cmocka_unit_test(test_keccak_vectors),
        cmocka_unit_test(test_keccak_length_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
