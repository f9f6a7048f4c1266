
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include "ngx_http_balance_wal.h"


int
ngx_http_balance_wal_parse(const u_char *p, size_t len, uint64_t *lsn)
{
    u_char    c;
    size_t    digits, groups;
    uint64_t  high, group;

    high = 0;
    group = 0;
    digits = 0;
    groups = 0;

    for ( /* void */ ; len; len--, p++) {
        c = *p;

        if (c == '/' && digits && groups == 0) {
            high = group;
            group = 0;
            digits = 0;
            groups = 1;
            continue;
        }

        c = (u_char) (c | 0x20);

        if (digits == 8
            || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        {
            return -1;
        }

        group = group * 16 + (uint64_t) (c <= '9' ? c - '0' : c - 'a' + 10);
        digits++;
    }

    if (groups != 1 || digits == 0) {
        return -1;
    }

    *lsn = (high << 32) | group;

    return 0;
}


void
ngx_http_balance_wal_add(ngx_http_balance_wal_ring_t *ring, uintptr_t now,
    uint64_t lsn)
{
    ngx_http_balance_wal_t  *newest;

    if (ring->count) {
        newest = &ring->samples[(ring->head + ring->size - 1) % ring->size];

        /* going back: another primary (a failover), start over */
        if (lsn < newest->lsn) {
            ring->count = 0;
        }
    }

    ring->samples[ring->head].time = now;
    ring->samples[ring->head].lsn = lsn;

    ring->head = (ring->head + 1) % ring->size;

    if (ring->count < ring->size) {
        ring->count++;
    }
}


int64_t
ngx_http_balance_wal_lag(const ngx_http_balance_wal_ring_t *ring,
    uintptr_t now, uint64_t lsn, uintptr_t max_age, uintptr_t max_lag)
{
    size_t                         k;
    uintptr_t                      age;
    const ngx_http_balance_wal_t  *w;

    age = 0;

    for (k = 0; k < ring->count; k++) {
        w = &ring->samples[(ring->head + ring->size - 1 - k) % ring->size];
        age = now - w->time;

        if (k == 0 && age > max_age) {
            /* the primary has not answered a check lately */
            return -1;
        }

        if (w->lsn <= lsn) {
            return k == 0 ? 0 : (int64_t) age;
        }
    }

    /* behind all that is kept (or nothing kept): sure only past max_lag */
    return (ring->count && age > max_lag) ? (int64_t) age : -1;
}
