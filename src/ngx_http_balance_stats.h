
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#ifndef _NGX_HTTP_BALANCE_STATS_H_INCLUDED_
#define _NGX_HTTP_BALANCE_STATS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* what became of an HTTP request the module handled */
typedef enum {
    NGX_HTTP_BALANCE_OUTCOME_OK = 0,        /* 200 or 204 */
    NGX_HTTP_BALANCE_OUTCOME_INVALID,       /* 400: not JSON-RPC */
    NGX_HTTP_BALANCE_OUTCOME_DENIED,        /* 403: a restricted method */
    NGX_HTTP_BALANCE_OUTCOME_NOT_ALLOWED,   /* 405: not POST */
    NGX_HTTP_BALANCE_OUTCOME_UNAVAILABLE,   /* 503 -32603: database trouble */
    NGX_HTTP_BALANCE_OUTCOME_OVERLOADED,    /* 503 -32005: queue full, wait */
    NGX_HTTP_BALANCE_OUTCOME_FALLBACK,      /* handed to the fallback */
    NGX_HTTP_BALANCE_OUTCOME_GONE,          /* the client left first */
    NGX_HTTP_BALANCE_OUTCOME_N
} ngx_http_balance_outcome_e;


/* which method a call named, for the per-call counters */
typedef enum {
    NGX_HTTP_BALANCE_METHOD_GET_BALANCE = 0,
    NGX_HTTP_BALANCE_METHOD_PING,
    NGX_HTTP_BALANCE_METHOD_CHAIN_ID,
    NGX_HTTP_BALANCE_METHOD_NET_VERSION,
    NGX_HTTP_BALANCE_METHOD_OTHER,          /* -32601 and invalid requests */
    NGX_HTTP_BALANCE_METHOD_N
} ngx_http_balance_method_e;


typedef enum {
    NGX_HTTP_BALANCE_DB_ERROR_CONNECT = 0,
    NGX_HTTP_BALANCE_DB_ERROR_STATEMENT,
    NGX_HTTP_BALANCE_DB_ERROR_TIMEOUT,
    NGX_HTTP_BALANCE_DB_ERROR_LOST,
    NGX_HTTP_BALANCE_DB_ERROR_N
} ngx_http_balance_db_error_e;


typedef enum {
    NGX_HTTP_BALANCE_REFUSED_FULL = 0,
    NGX_HTTP_BALANCE_REFUSED_TIMEOUT,
    NGX_HTTP_BALANCE_REFUSED_DOWN,
    NGX_HTTP_BALANCE_REFUSED_N
} ngx_http_balance_refused_e;


#define NGX_HTTP_BALANCE_PG_STATES            5
#define NGX_HTTP_BALANCE_BATCH_BUCKETS        8
#define NGX_HTTP_BALANCE_LATENCY_BUCKETS      14
#define NGX_HTTP_BALANCE_STATS_NAME_LEN       128
#define NGX_HTTP_BALANCE_STATS_MAX_POOLS      32
#define NGX_HTTP_BALANCE_STATS_MAX_SERVERS    128


/* counters of one pool, summed over workers and kept across reloads */
typedef struct {
    u_char                   name[NGX_HTTP_BALANCE_STATS_NAME_LEN];
    size_t                   len;

    ngx_atomic_t             waiting;
    ngx_atomic_t             refused[NGX_HTTP_BALANCE_REFUSED_N];
} ngx_http_balance_pool_stats_t;


typedef struct {
    /* "pool" NUL "server" */
    u_char                   name[2 * NGX_HTTP_BALANCE_STATS_NAME_LEN];
    size_t                   len;

    ngx_atomic_t             statements;
    ngx_atomic_t             keys;
    ngx_atomic_t             errors[NGX_HTTP_BALANCE_DB_ERROR_N];
    ngx_atomic_t             connections[NGX_HTTP_BALANCE_PG_STATES];

    /* workers that send lookups to it */
    ngx_atomic_t             usable;
    /* the last check of any worker: replay lag in ms plus 1, 0: unknown */
    ngx_atomic_t             lag;
    ngx_atomic_t             recovery;
    ngx_atomic_t             checks;
    /* times a worker stopped reading from it because it lagged */
    ngx_atomic_t             stale;
} ngx_http_balance_server_stats_t;


typedef struct {
    ngx_uint_t               version;

    ngx_atomic_t             requests[NGX_HTTP_BALANCE_OUTCOME_N];
    ngx_atomic_t             calls[NGX_HTTP_BALANCE_METHOD_N][2];

    ngx_atomic_t             batch[NGX_HTTP_BALANCE_BATCH_BUCKETS + 1];
    ngx_atomic_t             batch_sum;

    ngx_atomic_t             latency[NGX_HTTP_BALANCE_LATENCY_BUCKETS + 1];
    ngx_atomic_t             latency_usec;

    ngx_uint_t               npools;
    ngx_http_balance_pool_stats_t    pools[NGX_HTTP_BALANCE_STATS_MAX_POOLS];

    ngx_uint_t               nservers;
    ngx_http_balance_server_stats_t  servers[NGX_HTTP_BALANCE_STATS_MAX_SERVERS];
} ngx_http_balance_stats_t;


ngx_int_t ngx_http_balance_stats_zone(ngx_conf_t *cf);
ngx_http_balance_stats_t *ngx_http_balance_stats(ngx_cycle_t *cycle);

void ngx_http_balance_stats_request(ngx_http_balance_stats_t *st,
    ngx_http_balance_outcome_e outcome, ngx_uint_t batch, uint64_t usec);

char *ngx_http_balance_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#define ngx_http_balance_stats_add(counter, n)                               \
    (void) ngx_atomic_fetch_add(&(counter), (ngx_atomic_int_t) (n))


#endif /* _NGX_HTTP_BALANCE_STATS_H_INCLUDED_ */
