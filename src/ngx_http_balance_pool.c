
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_balance_module.h"


/*
 * A worker's pool: its connections, the queue of requests waiting for one,
 * and rounds.  A round is one statement on one connection answering the
 * lookups of one or more requests: a request that finds an idle connection
 * goes out alone at once; requests that had to wait are taken together by
 * the next free connection, their addresses de-duplicated.
 */


static void ngx_http_balance_pool_dispatch(ngx_http_balance_pool_t *pool);
static void ngx_http_balance_pool_dispatch_handler(ngx_event_t *ev);
static void ngx_http_balance_pool_round(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pool_add(ngx_http_balance_pg_t *pg,
    ngx_http_balance_ctx_t *ctx);
static size_t ngx_http_balance_pool_key(ngx_http_balance_pg_t *pg,
    u_char *address);
static void ngx_http_balance_pool_answer(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pool_answer_ctx(ngx_http_balance_pg_t *pg,
    ngx_http_balance_ctx_t *ctx);
static void ngx_http_balance_pool_next(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pool_requeue(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pool_enqueue(ngx_http_balance_pool_t *pool,
    ngx_http_balance_ctx_t *ctx, ngx_uint_t head);
static void ngx_http_balance_pool_dequeue(ngx_http_balance_pool_t *pool,
    ngx_http_balance_ctx_t *ctx);
static void ngx_http_balance_pool_fail(ngx_queue_t *queue,
    ngx_http_balance_pool_t *pool, ngx_int_t code);
static void ngx_http_balance_pool_wait_handler(ngx_event_t *ev);
static void ngx_http_balance_pool_retry_handler(ngx_event_t *ev);


/* "0x" and 40 hex digits, and the comma before the next one */
#define NGX_HTTP_BALANCE_KEY_SIZE  (NGX_HTTP_BALANCE_ADDRESS_LEN + 1)


ngx_int_t
ngx_http_balance_pool_init_worker(ngx_cycle_t *cycle,
    ngx_http_balance_pool_conf_t *pcf)
{
    ngx_uint_t                  i;
    ngx_http_balance_pg_t      *pg;
    ngx_http_balance_pool_t    *pool;
    ngx_http_balance_server_t  *servers;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_balance_pool_t));
    if (pool == NULL) {
        return NGX_ERROR;
    }

    pool->conf = pcf;
    pool->log = cycle->log;
    pool->dispatch.handler = ngx_http_balance_pool_dispatch_handler;
    pool->dispatch.data = pool;
    pool->dispatch.log = cycle->log;
    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->waiting);

    /* the de-duplication table stays at most half full */
    for (pool->nslots = 16; pool->nslots < 2 * pcf->round; pool->nslots *= 2)
    {
        /* void */
    }

    pool->slots = ngx_palloc(cycle->pool, pool->nslots * sizeof(uint32_t));
    pool->keys = ngx_palloc(cycle->pool, pcf->round * sizeof(u_char *));

    pool->npgs = pcf->servers.nelts * pcf->connections;
    pool->pgs = ngx_pcalloc(cycle->pool,
                            pool->npgs * sizeof(ngx_http_balance_pg_t));

    if (pool->slots == NULL || pool->keys == NULL || pool->pgs == NULL) {
        return NGX_ERROR;
    }

    servers = pcf->servers.elts;

    for (i = 0; i < pool->npgs; i++) {
        pg = &pool->pgs[i];

        pg->pool = pool;
        pg->server = &servers[i / pcf->connections];
        pg->log = *cycle->log;
        ngx_queue_init(&pg->round);

        pg->param = ngx_pnalloc(cycle->pool,
                                pcf->round * NGX_HTTP_BALANCE_KEY_SIZE + 2);
        if (pg->param == NULL) {
            return NGX_ERROR;
        }

        pg->retry.handler = ngx_http_balance_pool_retry_handler;
        pg->retry.data = pg;
        pg->retry.log = &pg->log;
        pg->retry.cancelable = 1;

        /*
         * Connect from the first turn of the event loop, not here: the
         * worker takes its channel's connection after init_process, and
         * must not find worker_connections used up by ours.  Until then
         * the connection counts as connecting, so that early requests wait
         * rather than fail.
         */

        pg->state = NGX_HTTP_BALANCE_PG_CONNECTING;
        ngx_http_balance_stats_add(
                 pg->server->stats->connections[NGX_HTTP_BALANCE_PG_CONNECTING],
                 1);
        pool->nconnecting++;

        ngx_add_timer(&pg->retry, 0);
    }

    pcf->rt = pool;

    return NGX_OK;
}


void
ngx_http_balance_pool_exit_worker(ngx_http_balance_pool_conf_t *pcf)
{
    ngx_uint_t                i;
    ngx_http_balance_pool_t  *pool;

    pool = pcf->rt;

    if (pool == NULL) {
        return;
    }

    if (pool->dispatch.posted) {
        ngx_delete_posted_event(&pool->dispatch);
    }

    for (i = 0; i < pool->npgs; i++) {
        if (pool->pgs[i].state != NGX_HTTP_BALANCE_PG_CLOSED) {
            ngx_http_balance_pg_close(&pool->pgs[i]);
        }

        /* this worker's connections leave the shared gauges */
        ngx_http_balance_stats_add(
              pool->pgs[i].server->stats->connections[NGX_HTTP_BALANCE_PG_CLOSED],
              -1);
    }

    ngx_http_balance_stats_add(pcf->stats->waiting, -(ngx_int_t) pool->nwaiting);

    pcf->rt = NULL;
}


/*
 * NGX_OK: sent or queued; NGX_BUSY: the queue is full; NGX_DECLINED: no
 * connection is up or about to be, fail fast.
 */

ngx_int_t
ngx_http_balance_pool_lookup(ngx_http_balance_pool_t *pool,
    ngx_http_balance_ctx_t *ctx)
{
    ctx->pool = pool;
    ctx->db_start = ngx_http_balance_usec();

    ctx->wait.handler = ngx_http_balance_pool_wait_handler;
    ctx->wait.data = ctx;
    ctx->wait.log = ctx->request->connection->log;

    if (pool->nup == 0 && pool->nconnecting == 0) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "balance: pool \"%V\" has no connection up, "
                      "lookup refused", &pool->conf->name);
        ngx_http_balance_stats_add(
                  pool->conf->stats->refused[NGX_HTTP_BALANCE_REFUSED_DOWN], 1);
        return NGX_DECLINED;
    }

    /* what idle connections take in this turn of the loop is not queued */
    if (pool->nwaiting >= pool->conf->queue + pool->nidle * pool->conf->round)
    {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "balance: queue of pool \"%V\" is full (%ui waiting)",
                      &pool->conf->name, pool->nwaiting);
        ngx_http_balance_stats_add(
                  pool->conf->stats->refused[NGX_HTTP_BALANCE_REFUSED_FULL], 1);
        return NGX_BUSY;
    }

    ngx_http_balance_pool_enqueue(pool, ctx, 0);

    if (pool->nidle == 0) {
        ngx_add_timer(&ctx->wait, pool->conf->queue_timeout);
        return NGX_OK;
    }

    /*
     * An idle connection takes it at the end of this turn of the event
     * loop, together with every lookup that arrives in the same turn: no
     * added latency, and one statement for many requests under load.
     */

    if (!pool->dispatch.posted) {
        ngx_post_event(&pool->dispatch, &ngx_posted_events);
    }

    return NGX_OK;
}


/* idle connections take the waiting requests, a round each */

static void
ngx_http_balance_pool_dispatch(ngx_http_balance_pool_t *pool)
{
    ngx_queue_t             *q;
    ngx_http_balance_ctx_t  *ctx;

    while (pool->nidle && !ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->idle);
        ngx_queue_remove(q);
        pool->nidle--;

        ngx_http_balance_pool_round(ngx_queue_data(q, ngx_http_balance_pg_t,
                                                   queue));
    }

    /* the rest waits for a connection, for queue_timeout at most */

    for (q = ngx_queue_head(&pool->waiting);
         q != ngx_queue_sentinel(&pool->waiting);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_http_balance_ctx_t, queue);

        if (!ctx->wait.timer_set) {
            ngx_add_timer(&ctx->wait, pool->conf->queue_timeout);
        }
    }
}


static void
ngx_http_balance_pool_dispatch_handler(ngx_event_t *ev)
{
    ngx_http_balance_pool_dispatch(ev->data);
}


/* the request ended before its answer: it leaves the queue or its round */

void
ngx_http_balance_pool_detach(ngx_http_balance_ctx_t *ctx)
{
    if (ctx->state == NGX_HTTP_BALANCE_CTX_WAITING) {
        ngx_http_balance_pool_dequeue(ctx->pool, ctx);
        return;
    }

    /* a round in flight goes on: its result is read and dropped */
    ngx_queue_remove(&ctx->queue);
    ctx->pg->nrequests--;
}


static void
ngx_http_balance_pool_enqueue(ngx_http_balance_pool_t *pool,
    ngx_http_balance_ctx_t *ctx, ngx_uint_t head)
{
    ctx->state = NGX_HTTP_BALANCE_CTX_WAITING;

    if (head) {
        ngx_queue_insert_head(&pool->waiting, &ctx->queue);

    } else {
        ngx_queue_insert_tail(&pool->waiting, &ctx->queue);
    }

    pool->nwaiting++;
    ngx_http_balance_stats_add(pool->conf->stats->waiting, 1);
}


static void
ngx_http_balance_pool_dequeue(ngx_http_balance_pool_t *pool,
    ngx_http_balance_ctx_t *ctx)
{
    ngx_queue_remove(&ctx->queue);

    pool->nwaiting--;
    ngx_http_balance_stats_add(pool->conf->stats->waiting, -1);

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }
}


static void
ngx_http_balance_pool_round(ngx_http_balance_pg_t *pg)
{
    u_char                   *p;
    ngx_queue_t              *q;
    ngx_http_balance_ctx_t   *ctx;
    ngx_http_balance_pool_t  *pool;

    pool = pg->pool;

    ngx_memzero(pool->slots, pool->nslots * sizeof(uint32_t));
    pg->nkeys = 0;
    pg->nrequests = 0;
    pg->param[0] = '{';

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        ctx = ngx_queue_data(q, ngx_http_balance_ctx_t, queue);

        /* a batch never exceeds a round: the configuration sees to it */
        if (pg->nkeys + ctx->rpc.nlookups > pool->conf->round) {
            break;
        }

        ngx_http_balance_pool_dequeue(pool, ctx);
        ngx_http_balance_pool_add(pg, ctx);
    }

    p = pg->param + 1 + pg->nkeys * NGX_HTTP_BALANCE_KEY_SIZE - 1;
    *p++ = '}';
    *p = '\0';

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, &pg->log, 0,
                   "balance: round of %ui requests, %ui keys, "
                   "%ui still waiting", pg->nrequests, pg->nkeys,
                   pool->nwaiting);

    if (ngx_http_balance_pg_query(pg) != NGX_OK) {
        ngx_http_balance_pool_lost(pg);
    }
}


static void
ngx_http_balance_pool_add(ngx_http_balance_pg_t *pg,
    ngx_http_balance_ctx_t *ctx)
{
    size_t                    i;
    ngx_http_balance_call_t  *call;

    ctx->state = NGX_HTTP_BALANCE_CTX_QUERYING;
    ctx->pg = pg;
    ngx_queue_insert_tail(&pg->round, &ctx->queue);
    pg->nrequests++;

    for (i = 0; i < ctx->rpc.ncalls; i++) {
        call = &ctx->rpc.calls[i];

        if (call->type == NGX_HTTP_BALANCE_CALL_BALANCE) {
            call->key = ngx_http_balance_pool_key(pg, call->address);
        }
    }
}


/* the index of an address among the round's keys, appending it if new */

static size_t
ngx_http_balance_pool_key(ngx_http_balance_pg_t *pg, u_char *address)
{
    u_char                   *p;
    ngx_uint_t                h, mask;
    ngx_http_balance_pool_t  *pool;

    pool = pg->pool;
    mask = pool->nslots - 1;

    /* the hex digits are already uniformly distributed */
    h = ngx_hash_key(address + 2, 16) & mask;

    while (pool->slots[h]) {
        p = pool->keys[pool->slots[h] - 1];

        if (ngx_memcmp(p, address, NGX_HTTP_BALANCE_ADDRESS_LEN) == 0) {
            return pool->slots[h] - 1;
        }

        h = (h + 1) & mask;
    }

    pool->keys[pg->nkeys] = address;
    pool->slots[h] = (uint32_t) ++pg->nkeys;

    p = pg->param + 1 + (pg->nkeys - 1) * NGX_HTTP_BALANCE_KEY_SIZE;
    p = ngx_cpymem(p, address, NGX_HTTP_BALANCE_ADDRESS_LEN);
    *p = ',';

    return pg->nkeys - 1;
}


/* the statement of a round completed: answer it, then serve the next */

void
ngx_http_balance_pool_release(ngx_http_balance_pg_t *pg)
{
    if (pg->error) {
        pg->error = 0;
        ngx_http_balance_stats_add(
            pg->server->stats->errors[NGX_HTTP_BALANCE_DB_ERROR_STATEMENT], 1);
        ngx_http_balance_pool_fail(&pg->round, pg->pool,
                                   NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);

    } else {
        pg->failed = 0;
        ngx_http_balance_pool_answer(pg);
    }

    if (pg->res) {
        PQclear(pg->res);
        pg->res = NULL;
    }

    ngx_http_balance_pool_next(pg);
}


static void
ngx_http_balance_pool_answer(ngx_http_balance_pg_t *pg)
{
    ngx_queue_t             *q;
    ngx_connection_t        *c;
    ngx_http_balance_ctx_t  *ctx;

    if (PQntuples(pg->res) != (int) pg->nkeys || PQnfields(pg->res) != 1) {
        ngx_log_error(NGX_LOG_ERR, &pg->log, 0,
                      "balance: the lookup returned %d rows of %d columns "
                      "for %ui keys", PQntuples(pg->res),
                      PQnfields(pg->res), pg->nkeys);
        ngx_http_balance_pool_fail(&pg->round, pg->pool,
                                   NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &pg->log, 0,
                   "balance: result for %ui requests", pg->nrequests);

    while (!ngx_queue_empty(&pg->round)) {
        q = ngx_queue_head(&pg->round);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_balance_ctx_t, queue);
        c = ctx->request->connection;

        ngx_http_balance_pool_answer_ctx(pg, ctx);

        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_balance_pool_answer_ctx(ngx_http_balance_pg_t *pg,
    ngx_http_balance_ctx_t *ctx)
{
    int                       row;
    size_t                    i;
    ssize_t                   n;
    ngx_http_balance_call_t  *call;

    for (i = 0; i < ctx->rpc.ncalls; i++) {
        call = &ctx->rpc.calls[i];

        if (call->type != NGX_HTTP_BALANCE_CALL_BALANCE) {
            continue;
        }

        row = (int) call->key;

        if (PQgetisnull(pg->res, row, 0)) {
            /* no such account: Studio answers zero */
            call->hex_len = ngx_cpymem(call->hex, "0x0", 3) - call->hex;
            continue;
        }

        n = ngx_http_balance_quantity_from_decimal(
                                 (u_char *) PQgetvalue(pg->res, row, 0),
                                 PQgetlength(pg->res, row, 0), call->hex);

        if (n < 0) {
            ngx_log_error(NGX_LOG_ERR, &pg->log, 0,
                          "balance: the balance of %*s is not a non-negative "
                          "integer: \"%s\"", NGX_HTTP_BALANCE_ADDRESS_LEN,
                          call->address, PQgetvalue(pg->res, row, 0));

            call->type = NGX_HTTP_BALANCE_CALL_ERROR;
            call->code = NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR;
            call->message = "Internal error";
            call->message_len = sizeof("Internal error") - 1;
            call->detail = NULL;
            continue;
        }

        call->hex_len = n;
    }

    ngx_http_balance_finish(ctx, 0, 0);
}


/* a connection is free: take the next round or go idle */

static void
ngx_http_balance_pool_next(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_pool_t  *pool;

    pool = pg->pool;

    if (!ngx_queue_empty(&pool->waiting)) {
        ngx_http_balance_pool_round(pg);
        return;
    }

    /*
     * Not flagged c->idle: on graceful shutdown the worker still serves the
     * requests it has accepted, and they may need the database.  An idle
     * connection holds no timer, so it does not keep the worker alive;
     * exit_process closes it.
     */

    ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_IDLE);
    pg->log.action = "keeping the connection idle";

    ngx_queue_insert_head(&pool->idle, &pg->queue);
    pool->nidle++;
}


void
ngx_http_balance_pool_connected(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_pool_t  *pool;

    pool = pg->pool;

    pool->nconnecting--;
    pool->nup++;

    if (pg->res) {
        PQclear(pg->res);
        pg->res = NULL;
    }

    if (pool->down) {
        pg->log.action = NULL;
        ngx_log_error(NGX_LOG_NOTICE, &pg->log, 0,
                      "balance: PostgreSQL is reachable again");
        pool->down = 0;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, &pg->log, 0, "balance: connected");

    pg->failed = 0;
    pg->backoff = 0;

    /* up, though not in the idle queue: next() queues it or uses it */
    ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_IDLE);

    ngx_http_balance_pool_next(pg);
}


/*
 * A connection failed or timed out: its round fails, and it is re-opened
 * after a backoff with jitter, unless the worker is exiting.  When no
 * connection is left, waiting requests fail at once instead of waiting
 * out the queue timeout.
 */

void
ngx_http_balance_pool_lost(ngx_http_balance_pg_t *pg)
{
    ngx_msec_t                    backoff;
    ngx_http_balance_pool_t      *pool;
    ngx_http_balance_db_error_e   kind;

    pool = pg->pool;

    switch (pg->state) {

    case NGX_HTTP_BALANCE_PG_CLOSED:      /* PQconnectStartParams() failed */
    case NGX_HTTP_BALANCE_PG_CONNECTING:
        kind = NGX_HTTP_BALANCE_DB_ERROR_CONNECT;
        break;

    case NGX_HTTP_BALANCE_PG_PREPARING:
        kind = pg->error ? NGX_HTTP_BALANCE_DB_ERROR_STATEMENT
                         : NGX_HTTP_BALANCE_DB_ERROR_CONNECT;
        break;

    default:
        kind = pg->timedout ? NGX_HTTP_BALANCE_DB_ERROR_TIMEOUT
                            : NGX_HTTP_BALANCE_DB_ERROR_LOST;
    }

    ngx_http_balance_stats_add(pg->server->stats->errors[kind], 1);

    if (pg->state == NGX_HTTP_BALANCE_PG_IDLE) {
        ngx_queue_remove(&pg->queue);
        pool->nidle--;
    }

    if (pg->state == NGX_HTTP_BALANCE_PG_IDLE
        || pg->state == NGX_HTTP_BALANCE_PG_BUSY)
    {
        pool->nup--;
    }

    ngx_http_balance_pg_close(pg);

    if (kind == NGX_HTTP_BALANCE_DB_ERROR_LOST) {
        /* a balance read is idempotent: its requests get one more try */
        ngx_http_balance_pool_requeue(pg);
    }

    ngx_http_balance_pool_fail(&pg->round, pool,
                               NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);

    if (pool->nup == 0 && pool->nconnecting == 0) {
        if (!pool->down && !ngx_exiting) {
            ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                          "balance: no connection of pool \"%V\" to "
                          "PostgreSQL is up, requests fail until one is",
                          &pool->conf->name);
            pool->down = 1;
        }

        ngx_http_balance_pool_fail(&pool->waiting, pool,
                                   NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);
    }

    /* requeued requests go out at once on the connections that are free */
    ngx_http_balance_pool_dispatch(pool);

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    backoff = pg->backoff ? ngx_min(pg->backoff * 2, pool->conf->backoff_max)
                          : pool->conf->backoff_min;
    pg->backoff = backoff;

    /* half fixed, half random: workers do not reconnect in lockstep */
    ngx_add_timer(&pg->retry, backoff / 2 + ngx_random() % (backoff / 2 + 1));
}


/*
 * The requests of a lost connection's round that were not retried yet go
 * back to the head of the queue, in their order, with a fresh wait timer.
 */

static void
ngx_http_balance_pool_requeue(ngx_http_balance_pg_t *pg)
{
    ngx_uint_t                n;
    ngx_queue_t              *q, *prev;
    ngx_http_balance_ctx_t   *ctx;
    ngx_http_balance_pool_t  *pool;

    pool = pg->pool;
    n = 0;

    for (q = ngx_queue_last(&pg->round);
         q != ngx_queue_sentinel(&pg->round);
         q = prev)
    {
        prev = ngx_queue_prev(q);
        ctx = ngx_queue_data(q, ngx_http_balance_ctx_t, queue);

        if (ctx->retried) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_http_balance_pool_enqueue(pool, ctx, 1);
        ctx->retried = 1;

        ngx_add_timer(&ctx->wait, pool->conf->queue_timeout);
        n++;
    }

    if (n) {
        ngx_log_error(NGX_LOG_INFO, &pg->log, 0,
                      "balance: %ui requests of a lost connection are "
                      "tried again", n);
    }
}


static void
ngx_http_balance_pool_fail(ngx_queue_t *queue, ngx_http_balance_pool_t *pool,
    ngx_int_t code)
{
    ngx_queue_t             *q;
    ngx_connection_t        *c;
    ngx_http_balance_ctx_t  *ctx;

    while (!ngx_queue_empty(queue)) {
        q = ngx_queue_head(queue);
        ctx = ngx_queue_data(q, ngx_http_balance_ctx_t, queue);

        if (ctx->state == NGX_HTTP_BALANCE_CTX_WAITING) {
            ngx_http_balance_pool_dequeue(pool, ctx);
            ngx_http_balance_stats_add(
                  pool->conf->stats->refused[NGX_HTTP_BALANCE_REFUSED_DOWN], 1);

        } else {
            ngx_queue_remove(q);
        }

        c = ctx->request->connection;

        ngx_http_balance_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, code);

        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_balance_pool_wait_handler(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_balance_ctx_t   *ctx;
    ngx_http_balance_pool_t  *pool;

    ctx = ev->data;
    pool = ctx->pool;
    c = ctx->request->connection;

    ngx_http_balance_pool_dequeue(pool, ctx);
    ngx_http_balance_stats_add(
               pool->conf->stats->refused[pool->nup
                                          ? NGX_HTTP_BALANCE_REFUSED_TIMEOUT
                                          : NGX_HTTP_BALANCE_REFUSED_DOWN],
               1);

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "balance: no connection of pool \"%V\" was free "
                  "within %M ms", &pool->conf->name,
                  pool->conf->queue_timeout);

    ngx_http_balance_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                            pool->nup ? NGX_HTTP_BALANCE_RPC_LIMIT_EXCEEDED
                                      : NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_balance_pool_retry_handler(ngx_event_t *ev)
{
    ngx_http_balance_pg_t  *pg;

    pg = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_http_balance_pg_connect(pg);
}
