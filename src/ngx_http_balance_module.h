
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#ifndef _NGX_HTTP_BALANCE_MODULE_H_INCLUDED_
#define _NGX_HTTP_BALANCE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "ngx_http_balance_jsonrpc.h"
#include "ngx_http_balance_stats.h"
#include "ngx_http_balance_wal.h"


typedef struct ngx_http_balance_pool_conf_s  ngx_http_balance_pool_conf_t;
typedef struct ngx_http_balance_pool_s       ngx_http_balance_pool_t;
typedef struct ngx_http_balance_pg_s         ngx_http_balance_pg_t;
typedef struct ngx_http_balance_peer_s       ngx_http_balance_peer_t;
typedef struct ngx_http_balance_ctx_s        ngx_http_balance_ctx_t;


/* one PostgreSQL server of a pool, as configured */
typedef struct {
    /* "host:port/dbname" or the socket directory, for logs: no secrets */
    ngx_str_t                      name;

    /* NULL-terminated, ready for PQconnectStartParams() */
    const char                   **keywords;
    const char                   **values;

    ngx_uint_t                     weight;
    /* what this nginx host may open to it, 0: not declared */
    ngx_uint_t                     max_connections;
    /* role=standby: no reads before a check found it fresh */
    unsigned                       standby:1;
    /* reads only while no other server is usable */
    unsigned                       backup:1;

    ngx_http_balance_server_stats_t  *stats;
} ngx_http_balance_server_t;


struct ngx_http_balance_pool_conf_s {
    ngx_str_t                      name;
    ngx_array_t                    servers;   /* ngx_http_balance_server_t */

    ngx_uint_t                     connections;
    ngx_uint_t                     queue;
    ngx_msec_t                     queue_timeout;
    ngx_msec_t                     connect_timeout;
    ngx_msec_t                     query_timeout;
    ngx_msec_t                     backoff_min;
    ngx_msec_t                     backoff_max;
    ngx_uint_t                     round;

    /* the freshness bound on standbys and how often it is checked; 0: off */
    ngx_msec_t                     max_lag;
    ngx_msec_t                     check_interval;

    ngx_str_t                      table;
    ngx_str_t                      key;
    ngx_str_t                      value;

    /* the lookup, prepared once on every new connection */
    ngx_str_t                      prepare;
    /* 0: sent whole each time (poolers that cannot keep it prepared) */
    ngx_flag_t                     prepared;

    /* this worker's runtime state, set in init_process */
    ngx_http_balance_pool_t       *rt;
    ngx_http_balance_pool_stats_t *stats;

    u_char                        *file;
    ngx_uint_t                     line;
};


typedef struct {
    ngx_array_t                    pools;  /* ngx_http_balance_pool_conf_t * */
    ngx_shm_zone_t                *stats_zone;

    /* this worker's, set in init_process */
    ngx_http_balance_address_cache_t  *address_cache;
} ngx_http_balance_main_conf_t;


typedef struct {
    ngx_http_balance_pool_conf_t  *pool;
    ngx_str_t                      pool_name;
    ngx_uint_t                     max_batch;
    ngx_flag_t                     strict;
    ngx_str_t                      chain_id;      /* JSON "0x..." */
    ngx_str_t                      net_version;   /* JSON "..." */
    ngx_str_t                      fallback;
    ngx_flag_t                     fallback_invalid;
    ngx_array_t                   *deny;          /* const char * */
} ngx_http_balance_loc_conf_t;


typedef enum {
    NGX_HTTP_BALANCE_PG_CLOSED = 0,
    NGX_HTTP_BALANCE_PG_CONNECTING,
    NGX_HTTP_BALANCE_PG_PREPARING,
    NGX_HTTP_BALANCE_PG_IDLE,
    NGX_HTTP_BALANCE_PG_BUSY
} ngx_http_balance_pg_state_e;


/* a server of a pool as one worker sees it */
struct ngx_http_balance_peer_s {
    ngx_http_balance_pool_t       *pool;
    ngx_http_balance_server_t     *server;

    /* its IDLE connections, whether it is usable or not */
    ngx_queue_t                    idle;
    ngx_uint_t                     nidle;
    /* its connections that are IDLE or BUSY */
    ngx_uint_t                     nup;

    /* smooth weighted round robin, as nginx's upstream one */
    ngx_int_t                      current_weight;

    ngx_event_t                    check;
    /* the connection running the freshness check, if one does */
    ngx_http_balance_pg_t         *checking;

    /* up and fresh: takes lookups, and its idle count is in pool->nidle */
    unsigned                       usable:1;
    /* not in recovery, or a standby within max_lag at the last check */
    unsigned                       fresh:1;
    /* pg_is_in_recovery() at the last check (role=standby before one) */
    unsigned                       recovery:1;
    /* a check is due on the next connection to come free */
    unsigned                       check_pending:1;
};


/* one libpq connection slot of a worker */
struct ngx_http_balance_pg_s {
    ngx_http_balance_pool_t       *pool;
    ngx_http_balance_peer_t       *peer;
    ngx_http_balance_server_t     *server;

    PGconn                        *conn;
    ngx_connection_t              *c;
    ngx_http_balance_pg_state_e    state;

    /* in pool->idle while IDLE */
    ngx_queue_t                    queue;

    /* the requests whose lookups ride on the statement in flight */
    ngx_queue_t                    round;
    ngx_uint_t                     nrequests;
    ngx_uint_t                     nkeys;
    PGresult                      *res;

    /* the text array parameter "{0x..,0x..}", preallocated */
    u_char                        *param;

    ngx_event_t                    retry;
    ngx_msec_t                     backoff;
    ngx_log_t                      log;

    /* a failure was logged: repeats go to debug until a success */
    unsigned                       failed:1;
    /* the statement in flight failed, the connection may be fine */
    unsigned                       error:1;
    unsigned                       timedout:1;
    /* the server sent a FATAL notice: the connection is going away */
    unsigned                       fatal:1;
    /* the server lost the prepared statement: reconnect, retry the round */
    unsigned                       unprepared:1;
    /* the statement in flight is the freshness check */
    unsigned                       check:1;
};


/* the per-worker runtime of a pool */
struct ngx_http_balance_pool_s {
    ngx_http_balance_pool_conf_t  *conf;
    ngx_log_t                     *log;

    ngx_http_balance_pg_t         *pgs;
    ngx_uint_t                     npgs;

    ngx_http_balance_peer_t       *peers;
    ngx_uint_t                     npeers;
    /* peers that take lookups, and their idle connections */
    ngx_uint_t                     nusable;
    ngx_uint_t                     nidle;
    /* freshness checks in flight */
    ngx_uint_t                     nchecking;

    /* the primary's recent WAL positions, from the checks */
    ngx_http_balance_wal_ring_t    wal;

    ngx_queue_t                    waiting;
    ngx_uint_t                     nwaiting;

    /* posted: idle connections take the waiting requests */
    ngx_event_t                    dispatch;

    /* connections on their way up */
    ngx_uint_t                     nconnecting;

    /* open-addressed table used to de-duplicate a round's keys */
    uint32_t                      *slots;
    ngx_uint_t                     nslots;
    u_char                       **keys;

    unsigned                       down:1;
};


typedef enum {
    NGX_HTTP_BALANCE_CTX_NEW = 0,
    NGX_HTTP_BALANCE_CTX_WAITING,
    NGX_HTTP_BALANCE_CTX_QUERYING,
    NGX_HTTP_BALANCE_CTX_DONE
} ngx_http_balance_ctx_state_e;


struct ngx_http_balance_ctx_s {
    ngx_http_request_t            *request;
    ngx_http_balance_rpc_t         rpc;
    ngx_http_balance_ctx_state_e   state;
    ngx_http_balance_outcome_e     outcome;

    /* microseconds: the body complete, the lookup started and answered */
    uint64_t                       start;
    uint64_t                       db_start;
    uint64_t                       db_end;

    /* in pool->waiting or pg->round */
    ngx_queue_t                    queue;
    ngx_event_t                    wait;
    ngx_http_balance_pool_t       *pool;
    ngx_http_balance_pg_t         *pg;
    /* the server its statement was lost on: another one is preferred */
    ngx_http_balance_peer_t       *avoid;
    /* the server that answered, for $balance_server */
    ngx_http_balance_server_t     *server;

    /* its statement was lost with a connection once already */
    unsigned                       retried:1;
};


extern ngx_module_t  ngx_http_balance_module;


/* ngx_http_balance_module.c */
ngx_http_balance_pool_conf_t *ngx_http_balance_find_pool(ngx_conf_t *cf,
    ngx_str_t *name);

/* conf.c */
char *ngx_http_balance_pool_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_balance_budget(ngx_conf_t *cf,
    ngx_http_balance_main_conf_t *bmcf);

/* handler.c */
ngx_int_t ngx_http_balance_handler(ngx_http_request_t *r);
void ngx_http_balance_finish(ngx_http_balance_ctx_t *ctx, ngx_uint_t status,
    ngx_int_t code);
ngx_http_balance_ctx_t *ngx_http_balance_create_ctx(ngx_http_request_t *r);
ngx_http_balance_ctx_t *ngx_http_balance_get_ctx(ngx_http_request_t *r);
void ngx_http_balance_json_init(void);

/* pool.c */
ngx_int_t ngx_http_balance_pool_init_worker(ngx_cycle_t *cycle,
    ngx_http_balance_pool_conf_t *pcf);
void ngx_http_balance_pool_exit_worker(ngx_http_balance_pool_conf_t *pcf);
ngx_int_t ngx_http_balance_pool_lookup(ngx_http_balance_pool_t *pool,
    ngx_http_balance_ctx_t *ctx);
void ngx_http_balance_pool_detach(ngx_http_balance_ctx_t *ctx);
void ngx_http_balance_pool_release(ngx_http_balance_pg_t *pg);
void ngx_http_balance_pool_connected(ngx_http_balance_pg_t *pg);
void ngx_http_balance_pool_lost(ngx_http_balance_pg_t *pg);

/* variables.c */
ngx_int_t ngx_http_balance_add_variables(ngx_conf_t *cf);
uint64_t ngx_http_balance_usec(void);

/* pg.c */
void ngx_http_balance_pg_set_state(ngx_http_balance_pg_t *pg,
    ngx_http_balance_pg_state_e state);
void ngx_http_balance_pg_connect(ngx_http_balance_pg_t *pg);
ngx_int_t ngx_http_balance_pg_query(ngx_http_balance_pg_t *pg);
ngx_int_t ngx_http_balance_pg_check(ngx_http_balance_pg_t *pg);
void ngx_http_balance_pg_close(ngx_http_balance_pg_t *pg);


#endif /* _NGX_HTTP_BALANCE_MODULE_H_INCLUDED_ */
