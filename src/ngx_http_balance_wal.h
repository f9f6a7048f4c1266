
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#ifndef _NGX_HTTP_BALANCE_WAL_H_INCLUDED_
#define _NGX_HTTP_BALANCE_WAL_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>


/*
 * A standby's lag measured against its primary: the primary's WAL
 * positions as the freshness checks saw them, in a ring, and how long ago
 * the primary was last at or below what a standby has replayed.  Pure C,
 * no nginx types: times are milliseconds of any monotonic clock that
 * wraps as an unsigned word does (nginx's ngx_current_msec).
 */


typedef struct {
    uintptr_t                      time;
    uint64_t                       lsn;
} ngx_http_balance_wal_t;


typedef struct {
    ngx_http_balance_wal_t        *samples;
    size_t                         size;
    size_t                         head;    /* the next to write */
    size_t                         count;
} ngx_http_balance_wal_ring_t;


/*
 * PostgreSQL's pg_lsn text, "16/B374D848" (two groups of 1 to 8 hex
 * digits), to a 64-bit position.  0, or -1 when malformed.
 */
int ngx_http_balance_wal_parse(const u_char *p, size_t len, uint64_t *lsn);

/* the primary at "lsn" at "now"; a position going back empties the ring */
void ngx_http_balance_wal_add(ngx_http_balance_wal_ring_t *ring,
    uintptr_t now, uint64_t lsn);

/*
 * The lag in ms of a standby that replayed up to "lsn": 0 when it has the
 * primary's newest position, else the age of the newest position at or
 * below its own.  -1 when the ring cannot tell: empty, its newest position
 * older than "max_age", or the standby behind every position kept while
 * they span no more than "max_lag".
 */
int64_t ngx_http_balance_wal_lag(const ngx_http_balance_wal_ring_t *ring,
    uintptr_t now, uint64_t lsn, uintptr_t max_age, uintptr_t max_lag);


#endif /* _NGX_HTTP_BALANCE_WAL_H_INCLUDED_ */
