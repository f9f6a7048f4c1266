
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_balance_wal.h"


#define TEST_WAL_SIZE  4


static void test_wal_expect(const char *text, uint64_t lsn);
static void test_wal_reject(const char *text, size_t len);
static void test_wal_parse(void **state);
static void test_wal_parse_invalid(void **state);
static void test_wal_lag(void **state);
static void test_wal_unknown(void **state);
static void test_wal_ring_wraps(void **state);
static void test_wal_going_back(void **state);
static void test_wal_clock_wraps(void **state);


static ngx_http_balance_wal_t       test_wal_samples[TEST_WAL_SIZE];
static ngx_http_balance_wal_ring_t  test_wal_ring;


static void
test_wal_reset(void)
{
    memset(test_wal_samples, 0xa5, sizeof(test_wal_samples));
    test_wal_ring.samples = test_wal_samples;
    test_wal_ring.size = TEST_WAL_SIZE;
    test_wal_ring.head = 0;
    test_wal_ring.count = 0;
}


static void
test_wal_expect(const char *text, uint64_t lsn)
{
    uint64_t  got;

    got = 0;
    assert_int_equal(ngx_http_balance_wal_parse((const u_char *) text,
                                                strlen(text), &got), 0);
    assert_true(got == lsn);
}


static void
test_wal_reject(const char *text, size_t len)
{
    uint64_t  got;

    got = 42;
    assert_int_equal(ngx_http_balance_wal_parse((const u_char *) text, len,
                                                &got), -1);
    assert_true(got == 42);
}


static void
test_wal_parse(void **state)
{
    (void) state;

    test_wal_expect("0/0", 0);
    test_wal_expect("0/3001338", 0x3001338);
    test_wal_expect("16/B374D848", 0x16B374D848ULL);
    test_wal_expect("16/b374d848", 0x16B374D848ULL);
    test_wal_expect("1/0", 0x100000000ULL);
    test_wal_expect("FFFFFFFF/FFFFFFFF", UINT64_MAX);
    test_wal_expect("00000001/00000002", 0x100000002ULL);
}


static void
test_wal_parse_invalid(void **state)
{
    (void) state;

    test_wal_reject("", 0);
    test_wal_reject("/", 1);
    test_wal_reject("1/", 2);
    test_wal_reject("/1", 2);
    test_wal_reject("1//2", 4);
    test_wal_reject("1/2/3", 5);
    test_wal_reject("12", 2);
    test_wal_reject("123456789/0", 11);
    test_wal_reject("0/123456789", 11);
    test_wal_reject("g/0", 3);
    test_wal_reject("1 /2", 4);
    test_wal_reject("1/2 ", 4);
    test_wal_reject("-1/2", 4);
    test_wal_reject("1/2\0", 4);
}


static void
test_wal_lag(void **state)
{
    ngx_http_balance_wal_ring_t  *r = &test_wal_ring;

    (void) state;

    test_wal_reset();

    ngx_http_balance_wal_add(r, 100, 10);
    ngx_http_balance_wal_add(r, 200, 20);
    ngx_http_balance_wal_add(r, 300, 30);

    /* the primary's newest position replayed: fresh */
    assert_int_equal(ngx_http_balance_wal_lag(r, 310, 30, 400, 1000), 0);
    assert_int_equal(ngx_http_balance_wal_lag(r, 310, 35, 400, 1000), 0);

    /* between two positions: as old as the older one */
    assert_int_equal(ngx_http_balance_wal_lag(r, 310, 25, 400, 1000), 110);
    assert_int_equal(ngx_http_balance_wal_lag(r, 310, 20, 400, 1000), 110);
    assert_int_equal(ngx_http_balance_wal_lag(r, 310, 15, 400, 1000), 210);

    /* the primary idle: its position does not move, the standby is fresh */
    ngx_http_balance_wal_add(r, 400, 30);
    assert_int_equal(ngx_http_balance_wal_lag(r, 410, 30, 400, 1000), 0);
}


static void
test_wal_unknown(void **state)
{
    ngx_http_balance_wal_ring_t  *r = &test_wal_ring;

    (void) state;

    test_wal_reset();

    /* nothing kept */
    assert_int_equal(ngx_http_balance_wal_lag(r, 100, 0, 400, 1000), -1);

    ngx_http_balance_wal_add(r, 100, 10);
    ngx_http_balance_wal_add(r, 200, 20);

    /* behind everything kept: unknown while that spans less than max_lag */
    assert_int_equal(ngx_http_balance_wal_lag(r, 210, 5, 400, 1000), -1);

    /* but stale for sure once it spans more */
    assert_int_equal(ngx_http_balance_wal_lag(r, 1200, 5, 2000, 1000), 1100);

    /* the primary silent for longer than max_age: no judgement */
    assert_int_equal(ngx_http_balance_wal_lag(r, 700, 20, 400, 1000), -1);
    assert_int_equal(ngx_http_balance_wal_lag(r, 600, 20, 400, 1000), 0);
}


static void
test_wal_ring_wraps(void **state)
{
    int                           i;
    ngx_http_balance_wal_ring_t  *r = &test_wal_ring;

    (void) state;

    test_wal_reset();

    /* six positions in a ring of four: the two oldest are gone */
    for (i = 1; i <= 6; i++) {
        ngx_http_balance_wal_add(r, (uintptr_t) i * 100, (uint64_t) i * 10);
    }

    assert_int_equal(r->count, TEST_WAL_SIZE);

    assert_int_equal(ngx_http_balance_wal_lag(r, 600, 60, 400, 1000), 0);
    assert_int_equal(ngx_http_balance_wal_lag(r, 600, 45, 400, 1000), 200);
    assert_int_equal(ngx_http_balance_wal_lag(r, 600, 30, 400, 1000), 300);

    /* at 20, behind the oldest kept (30 at 300): 300 ms, under max_lag */
    assert_int_equal(ngx_http_balance_wal_lag(r, 600, 20, 400, 1000), -1);
    assert_int_equal(ngx_http_balance_wal_lag(r, 600, 20, 400, 250), 300);
}


static void
test_wal_going_back(void **state)
{
    ngx_http_balance_wal_ring_t  *r = &test_wal_ring;

    (void) state;

    test_wal_reset();

    ngx_http_balance_wal_add(r, 100, 1000);
    ngx_http_balance_wal_add(r, 200, 2000);

    /* another primary, further back: only its position counts now */
    ngx_http_balance_wal_add(r, 300, 500);

    assert_int_equal(r->count, 1);
    assert_int_equal(ngx_http_balance_wal_lag(r, 310, 500, 400, 1000), 0);
    assert_int_equal(ngx_http_balance_wal_lag(r, 310, 400, 400, 1000), -1);
}


static void
test_wal_clock_wraps(void **state)
{
    ngx_http_balance_wal_ring_t  *r = &test_wal_ring;

    (void) state;

    test_wal_reset();

    ngx_http_balance_wal_add(r, UINTPTR_MAX - 149, 10);
    ngx_http_balance_wal_add(r, UINTPTR_MAX - 49, 20);
    ngx_http_balance_wal_add(r, 50, 30);

    assert_int_equal(ngx_http_balance_wal_lag(r, 60, 30, 400, 1000), 0);
    assert_int_equal(ngx_http_balance_wal_lag(r, 60, 25, 400, 1000), 110);
    assert_int_equal(ngx_http_balance_wal_lag(r, 60, 15, 400, 1000), 210);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_wal_parse),
        cmocka_unit_test(test_wal_parse_invalid),
        cmocka_unit_test(test_wal_lag),
        cmocka_unit_test(test_wal_unknown),
        cmocka_unit_test(test_wal_ring_wraps),
        cmocka_unit_test(test_wal_going_back),
        cmocka_unit_test(test_wal_clock_wraps),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
