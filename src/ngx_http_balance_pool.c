
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_balance_module.h"


/*
 * A worker's pool: its servers ("peers"), their connections, the queue of
 * requests waiting for one, and rounds.  A round is one statement on one
 * connection answering the lookups of one or more requests: a request that
 * finds an idle connection goes out alone at once; requests that had to
 * wait are taken together by the next free connection, their addresses
 * de-duplicated.
 *
 * Lookups go to usable peers only: connected, and either not in recovery
 * or a standby whose replay lag was within max_lag at its last check.
 * Among usable peers with an idle connection, smooth weighted round robin
 * picks; a connection that comes free takes what waits, so under load a
 * faster server takes more rounds.
 */


static void ngx_http_balance_pool_dispatch(ngx_http_balance_pool_t *pool);
static void ngx_http_balance_pool_dispatch_handler(ngx_event_t *ev);
static ngx_http_balance_peer_t *ngx_http_balance_pool_pick(
    ngx_http_balance_pool_t *pool);
static void ngx_http_balance_pool_idle_add(ngx_http_balance_pg_t *pg);
static ngx_http_balance_pg_t *ngx_http_balance_pool_idle_take(
    ngx_http_balance_peer_t *peer);
static void ngx_http_balance_pool_idle_remove(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pool_update(ngx_http_balance_peer_t *peer);
static void ngx_http_balance_pool_usable(ngx_http_balance_peer_t *peer,
    ngx_uint_t usable);
static void ngx_http_balance_pool_settle(ngx_http_balance_pool_t *pool);
static ngx_int_t ngx_http_balance_pool_round(ngx_http_balance_pg_t *pg);
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
static void ngx_http_balance_pool_check(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pool_check_end(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pool_checked(ngx_http_balance_pg_t *pg);

static void ngx_http_balance_pool_fresh(ngx_http_balance_peer_t *peer,
    ngx_uint_t recovery, ngx_msec_int_t lag);
static void ngx_http_balance_pool_check_handler(ngx_event_t *ev);


/* "0x" and 40 hex digits, and the comma before the next one */
#define NGX_HTTP_BALANCE_KEY_SIZE  (NGX_HTTP_BALANCE_ADDRESS_LEN + 1)


ngx_int_t
ngx_http_balance_pool_init_worker(ngx_cycle_t *cycle,
    ngx_http_balance_pool_conf_t *pcf)
{
    ngx_uint_t                  i;
    ngx_http_balance_pg_t      *pg;
    ngx_http_balance_peer_t    *peer;
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
    ngx_queue_init(&pool->waiting);

    /* the de-duplication table stays at most half full */
    for (pool->nslots = 16; pool->nslots < 2 * pcf->round; pool->nslots *= 2)
    {
        /* void */
    }

    pool->slots = ngx_palloc(cycle->pool, pool->nslots * sizeof(uint32_t));
    pool->keys = ngx_palloc(cycle->pool, pcf->round * sizeof(u_char *));

    pool->npeers = pcf->servers.nelts;
    pool->peers = ngx_pcalloc(cycle->pool,
                              pool->npeers * sizeof(ngx_http_balance_peer_t));

    pool->npgs = pcf->servers.nelts * pcf->connections;
    pool->pgs = ngx_pcalloc(cycle->pool,
                            pool->npgs * sizeof(ngx_http_balance_pg_t));

    if (pool->slots == NULL || pool->keys == NULL || pool->peers == NULL
        || pool->pgs == NULL)
    {
        return NGX_ERROR;
    }

    if (pcf->max_lag) {
        /* enough of the primary's positions to look max_lag back, and more */
        pool->wal.size = ngx_min(pcf->max_lag / pcf->check_interval + 4,
                                 1024);
        pool->wal.samples = ngx_palloc(cycle->pool, pool->wal.size
                                              * sizeof(ngx_http_balance_wal_t));
        if (pool->wal.samples == NULL) {
            return NGX_ERROR;
        }
    }

    servers = pcf->servers.elts;

    for (i = 0; i < pool->npeers; i++) {
        peer = &pool->peers[i];

        peer->pool = pool;
        peer->server = &servers[i];
        ngx_queue_init(&peer->idle);

        /* a declared standby takes no reads before a check says fresh */
        peer->recovery = servers[i].standby;
        peer->fresh = !(servers[i].standby && pcf->max_lag);

        if (pcf->max_lag == 0) {
            continue;
        }

        peer->check.handler = ngx_http_balance_pool_check_handler;
        peer->check.data = peer;
        peer->check.log = cycle->log;
        peer->check.cancelable = 1;

        /* spread over the interval: workers do not check in lockstep */
        ngx_add_timer(&peer->check,
                      pcf->check_interval
                      + ngx_random() % (pcf->check_interval / 2 + 1));
    }

    for (i = 0; i < pool->npgs; i++) {
        pg = &pool->pgs[i];

        pg->pool = pool;
        pg->peer = &pool->peers[i / pcf->connections];
        pg->server = pg->peer->server;
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

    for (i = 0; i < pool->npeers; i++) {
        if (pool->peers[i].usable) {
            ngx_http_balance_stats_add(pool->peers[i].server->stats->usable,
                                       -1);
        }
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

    /* nothing usable, and nothing that may become so shortly */
    if (pool->nusable == 0 && pool->nconnecting == 0 && pool->nchecking == 0)
    {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "balance: pool \"%V\" has no usable server, "
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
    ngx_uint_t                declined;
    ngx_queue_t              *q;
    ngx_http_balance_pg_t    *pg;
    ngx_http_balance_ctx_t   *ctx;
    ngx_http_balance_peer_t  *peer;

    /*
     * A connection may decline what waits (retries that avoid its server):
     * once every usable peer declined in a row, the rest waits.
     */

    declined = 0;

    while (pool->nidle && !ngx_queue_empty(&pool->waiting)
           && declined < pool->npeers)
    {
        peer = ngx_http_balance_pool_pick(pool);
        if (peer == NULL) {
            break;
        }

        pg = ngx_http_balance_pool_idle_take(peer);

        if (ngx_http_balance_pool_round(pg) == NGX_DECLINED) {
            ngx_http_balance_pool_idle_add(pg);
            declined++;
            continue;
        }

        declined = 0;
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


/*
 * Smooth weighted round robin over the usable peers with an idle
 * connection: each gains its weight, the highest is picked and pays the
 * total back.  A caller makes sure that pool->nidle is not 0.
 */

static ngx_http_balance_peer_t *
ngx_http_balance_pool_pick(ngx_http_balance_pool_t *pool)
{
    ngx_int_t                 total;
    ngx_uint_t                i;
    ngx_http_balance_peer_t  *peer, *best;

    if (pool->npeers == 1) {
        return &pool->peers[0];
    }

    best = NULL;
    total = 0;

    for (i = 0; i < pool->npeers; i++) {
        peer = &pool->peers[i];

        if (!peer->usable || peer->nidle == 0) {
            continue;
        }

        peer->current_weight += peer->server->weight;
        total += peer->server->weight;

        if (best == NULL || peer->current_weight > best->current_weight) {
            best = peer;
        }
    }

    if (best == NULL) {
        /* cannot happen while pool->nidle counts usable peers' idle ones */
        ngx_log_error(NGX_LOG_ALERT, pool->log, 0,
                      "balance: %ui idle connections but no usable server",
                      pool->nidle);
        return NULL;
    }

    best->current_weight -= total;

    return best;
}


/* an IDLE connection joins its peer's idle list, the pool's if usable */

static void
ngx_http_balance_pool_idle_add(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_peer_t  *peer;

    peer = pg->peer;

    /* the most recently used first: its backend's caches are warm */
    ngx_queue_insert_head(&peer->idle, &pg->queue);
    peer->nidle++;

    if (peer->usable) {
        pg->pool->nidle++;
    }
}


static ngx_http_balance_pg_t *
ngx_http_balance_pool_idle_take(ngx_http_balance_peer_t *peer)
{
    ngx_queue_t            *q;
    ngx_http_balance_pg_t  *pg;

    q = ngx_queue_head(&peer->idle);
    pg = ngx_queue_data(q, ngx_http_balance_pg_t, queue);

    ngx_http_balance_pool_idle_remove(pg);

    return pg;
}


static void
ngx_http_balance_pool_idle_remove(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_peer_t  *peer;

    peer = pg->peer;

    ngx_queue_remove(&pg->queue);
    peer->nidle--;

    if (peer->usable) {
        pg->pool->nidle--;
    }
}


/*
 * A peer takes lookups when it has a connection up and is fresh, and, if
 * it is a backup, when no other peer does.  Called when something about
 * "peer" changed; since backups depend on the others, every peer is
 * looked at again (a few, on state changes only).
 */

static void
ngx_http_balance_pool_update(ngx_http_balance_peer_t *peer)
{
    ngx_uint_t                i, nmain;
    ngx_http_balance_peer_t  *p;
    ngx_http_balance_pool_t  *pool;

    pool = peer->pool;
    nmain = 0;

    for (i = 0; i < pool->npeers; i++) {
        p = &pool->peers[i];

        if (!p->server->backup && p->nup > 0 && p->fresh) {
            nmain++;
        }
    }

    /* backups last: what they gain comes after what the others lose */
    for (i = 0; i < pool->npeers; i++) {
        p = &pool->peers[i];

        if (!p->server->backup) {
            ngx_http_balance_pool_usable(p, p->nup > 0 && p->fresh);
        }
    }

    for (i = 0; i < pool->npeers; i++) {
        p = &pool->peers[i];

        if (p->server->backup) {
            ngx_http_balance_pool_usable(p, p->nup > 0 && p->fresh
                                            && nmain == 0);
        }
    }
}


static void
ngx_http_balance_pool_usable(ngx_http_balance_peer_t *peer,
    ngx_uint_t usable)
{
    ngx_http_balance_pool_t  *pool;

    pool = peer->pool;

    if (usable == peer->usable) {
        return;
    }

    peer->usable = usable;

    if (usable) {
        if (pool->down) {
            ngx_log_error(NGX_LOG_NOTICE, pool->log, 0,
                          "balance: server %V of pool \"%V\" is usable "
                          "again", &peer->server->name, &pool->conf->name);
            pool->down = 0;
        }

        pool->nusable++;
        pool->nidle += peer->nidle;
        peer->current_weight = 0;
        ngx_http_balance_stats_add(peer->server->stats->usable, 1);

        /* what waits may go out on its idle connections */
        if (peer->nidle && !ngx_queue_empty(&pool->waiting)
            && !pool->dispatch.posted)
        {
            ngx_post_event(&pool->dispatch, &ngx_posted_events);
        }

        return;
    }

    pool->nusable--;
    pool->nidle -= peer->nidle;
    ngx_http_balance_stats_add(peer->server->stats->usable, -1);
}


/*
 * When no peer is usable and none may become so shortly (no connection
 * on its way, no check in flight), waiting requests fail at once instead
 * of waiting out the queue timeout.
 */

static void
ngx_http_balance_pool_settle(ngx_http_balance_pool_t *pool)
{
    if (pool->nusable || pool->nconnecting || pool->nchecking) {
        return;
    }

    if (!pool->down && !ngx_exiting) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "balance: no server of pool \"%V\" is usable, "
                      "requests fail until one is", &pool->conf->name);
        pool->down = 1;
    }

    ngx_http_balance_pool_fail(&pool->waiting, pool,
                               NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);
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


/*
 * Fills a round from the queue and sends it: NGX_DECLINED when nothing
 * waiting may go on this connection, a loss is handled here.
 */

static ngx_int_t
ngx_http_balance_pool_round(ngx_http_balance_pg_t *pg)
{
    u_char                   *p;
    ngx_queue_t              *q, *next;
    ngx_http_balance_ctx_t   *ctx;
    ngx_http_balance_pool_t  *pool;
    ngx_http_balance_peer_t  *avoid;

    pool = pg->pool;

    ngx_memzero(pool->slots, pool->nslots * sizeof(uint32_t));
    pg->nkeys = 0;
    pg->nrequests = 0;
    pg->param[0] = '{';

    /* a retry goes to another server than the one that lost it, if any */
    avoid = (pool->nusable > 1) ? pg->peer : NULL;

    for (q = ngx_queue_head(&pool->waiting);
         q != ngx_queue_sentinel(&pool->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_balance_ctx_t, queue);

        if (avoid && ctx->avoid == avoid) {
            continue;
        }

        /* a batch never exceeds a round: the configuration sees to it */
        if (pg->nkeys + ctx->rpc.nlookups > pool->conf->round) {
            break;
        }

        ngx_http_balance_pool_dequeue(pool, ctx);
        ngx_http_balance_pool_add(pg, ctx);
    }

    if (pg->nrequests == 0) {
        return NGX_DECLINED;
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

    return NGX_OK;
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
    if (pg->check) {
        ngx_http_balance_pool_checked(pg);

    } else if (pg->error) {
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

    ctx->server = pg->server;

    ngx_http_balance_finish(ctx, 0, 0);
}


/* a connection is free: check its server, take the next round or go idle */

static void
ngx_http_balance_pool_next(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_peer_t  *peer;

    peer = pg->peer;

    if (peer->check_pending) {
        peer->check_pending = 0;
        ngx_http_balance_pool_check(pg);
        return;
    }

    if (peer->usable && !ngx_queue_empty(&pg->pool->waiting)
        && ngx_http_balance_pool_round(pg) == NGX_OK)
    {
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

    ngx_http_balance_pool_idle_add(pg);
}


void
ngx_http_balance_pool_connected(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_peer_t  *peer;
    ngx_http_balance_pool_t  *pool;

    pool = pg->pool;
    peer = pg->peer;

    pool->nconnecting--;
    peer->nup++;

    if (pg->res) {
        PQclear(pg->res);
        pg->res = NULL;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, &pg->log, 0, "balance: connected");

    pg->failed = 0;
    pg->backoff = 0;

    /* up, though not in the idle list: next() lists it or uses it */
    ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_IDLE);

    /* the first connection to a server learns at once how fresh it is */
    if (peer->nup == 1 && pool->conf->max_lag) {
        peer->check_pending = 1;
    }

    ngx_http_balance_pool_update(peer);
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
    ngx_http_balance_peer_t      *peer;
    ngx_http_balance_pool_t      *pool;
    ngx_http_balance_db_error_e   kind;

    pool = pg->pool;
    peer = pg->peer;

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

    if (pg->check) {
        ngx_http_balance_pool_check_end(pg);
    }

    if (pg->state == NGX_HTTP_BALANCE_PG_IDLE) {
        ngx_http_balance_pool_idle_remove(pg);
    }

    if (pg->state == NGX_HTTP_BALANCE_PG_IDLE
        || pg->state == NGX_HTTP_BALANCE_PG_BUSY)
    {
        peer->nup--;

        /* back after an outage, a standby proves its freshness again */
        if (peer->nup == 0 && peer->recovery && pool->conf->max_lag) {
            peer->fresh = 0;
            peer->server->stats->lag = 0;
        }
    }

    ngx_http_balance_pg_close(pg);
    ngx_http_balance_pool_update(peer);

    /*
     * A balance read is idempotent: the requests of a lost statement get
     * one more try.  Those of a statement that timed out too, but only on
     * another server: the same one may still be working on it.
     */
    if (kind == NGX_HTTP_BALANCE_DB_ERROR_LOST
        || (kind == NGX_HTTP_BALANCE_DB_ERROR_TIMEOUT
            && pool->nusable > (ngx_uint_t) (peer->usable ? 1 : 0)))
    {
        ngx_http_balance_pool_requeue(pg);
    }

    ngx_http_balance_pool_fail(&pg->round, pool,
                               NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);

    ngx_http_balance_pool_settle(pool);

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
 * back to the head of the queue, in their order, with a fresh wait timer;
 * another server takes them if one is usable.
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
        ctx->avoid = pg->peer;

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
               pool->conf->stats->refused[pool->nusable
                                          ? NGX_HTTP_BALANCE_REFUSED_TIMEOUT
                                          : NGX_HTTP_BALANCE_REFUSED_DOWN],
               1);

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "balance: no connection of pool \"%V\" was free "
                  "within %M ms", &pool->conf->name,
                  pool->conf->queue_timeout);

    ngx_http_balance_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                            pool->nusable
                                ? NGX_HTTP_BALANCE_RPC_LIMIT_EXCEEDED
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


/* the freshness check of a peer goes out on one of its connections */

static void
ngx_http_balance_pool_check(ngx_http_balance_pg_t *pg)
{
    pg->peer->checking = pg;
    pg->pool->nchecking++;

    if (ngx_http_balance_pg_check(pg) != NGX_OK) {
        ngx_http_balance_pool_lost(pg);
    }
}


static void
ngx_http_balance_pool_check_end(ngx_http_balance_pg_t *pg)
{
    pg->check = 0;
    pg->peer->checking = NULL;
    pg->pool->nchecking--;
}


/*
 * The answer of a check.  A primary's WAL position joins the pool's ring.
 * A standby's lag is measured against that ring when it can be: the time
 * since the primary was last seen at or below what the standby replayed,
 * which counts WAL the standby has not even received.  Without a recent
 * primary position (no primary in the pool, or it is down), the standby's
 * own estimate stands.
 */

static void
ngx_http_balance_pool_checked(ngx_http_balance_pg_t *pg)
{
    int64_t                        wal_lag;
    uint64_t                       lsn;
    ngx_int_t                      lag;
    ngx_uint_t                     recovery, have_lsn;
    ngx_http_balance_peer_t       *peer;
    ngx_http_balance_pool_conf_t  *pcf;

    peer = pg->peer;

    ngx_http_balance_pool_check_end(pg);

    if (pg->error) {
        /* already logged: what it said before stands, its lag is unknown */
        pg->error = 0;
        ngx_http_balance_stats_add(
            pg->server->stats->errors[NGX_HTTP_BALANCE_DB_ERROR_STATEMENT], 1);
        ngx_http_balance_pool_fresh(peer, peer->recovery, -1);
        return;
    }

    if (pg->res == NULL || PQntuples(pg->res) != 1
        || PQnfields(pg->res) != 3)
    {
        ngx_log_error(NGX_LOG_ERR, &pg->log, 0,
                      "balance: the freshness check returned no row");
        ngx_http_balance_pool_fresh(peer, peer->recovery, -1);
        return;
    }

    pg->failed = 0;

    recovery = (PQgetvalue(pg->res, 0, 0)[0] == 't');

    if (PQgetisnull(pg->res, 0, 1)) {
        lag = -1;

    } else {
        lag = ngx_atoi((u_char *) PQgetvalue(pg->res, 0, 1),
                       PQgetlength(pg->res, 0, 1));
    }

    have_lsn = !PQgetisnull(pg->res, 0, 2)
               && ngx_http_balance_wal_parse(
                                      (u_char *) PQgetvalue(pg->res, 0, 2),
                                      PQgetlength(pg->res, 0, 2), &lsn)
                  == 0;

    pcf = pg->pool->conf;

    if (have_lsn && !recovery) {
        ngx_http_balance_wal_add(&pg->pool->wal, ngx_current_msec, lsn);

    } else if (have_lsn) {
        /* a primary position older than two checks is not current */
        wal_lag = ngx_http_balance_wal_lag(&pg->pool->wal, ngx_current_msec,
                                           lsn, 2 * pcf->check_interval,
                                           pcf->max_lag);
        if (wal_lag >= 0) {
            lag = (ngx_int_t) wal_lag;
        }
    }

    ngx_http_balance_pool_fresh(peer, recovery, lag);
}


/* applies what a check found: a standby over max_lag takes no reads */

static void
ngx_http_balance_pool_fresh(ngx_http_balance_peer_t *peer,
    ngx_uint_t recovery, ngx_msec_int_t lag)
{
    ngx_uint_t                        fresh;
    ngx_http_balance_pool_t          *pool;
    ngx_http_balance_server_stats_t  *st;

    pool = peer->pool;
    st = peer->server->stats;

    if (recovery != peer->recovery) {
        ngx_log_error(NGX_LOG_NOTICE, pool->log, 0,
                      recovery ? "balance: server %V of pool \"%V\" is in "
                                 "recovery: its reads are held to max_lag"
                               : "balance: server %V of pool \"%V\" is not "
                                 "in recovery: no lag bound applies",
                      &peer->server->name, &pool->conf->name);
        peer->recovery = recovery;
    }

    if (!recovery) {
        lag = 0;
    }

    st->recovery = recovery;
    st->lag = (lag < 0) ? 0 : (ngx_atomic_uint_t) lag + 1;

    fresh = !recovery || (lag >= 0 && (ngx_msec_t) lag <= pool->conf->max_lag);

    if (fresh != peer->fresh) {
        peer->fresh = fresh;

        if (fresh) {
            ngx_log_error(NGX_LOG_NOTICE, pool->log, 0,
                          "balance: standby %V of pool \"%V\" is %M ms "
                          "behind, within max_lag: it takes reads",
                          &peer->server->name, &pool->conf->name, lag);

        } else if (lag < 0) {
            ngx_log_error(NGX_LOG_WARN, pool->log, 0,
                          "balance: the lag of standby %V of pool \"%V\" "
                          "is unknown: no reads until a check measures it",
                          &peer->server->name, &pool->conf->name);
            ngx_http_balance_stats_add(st->stale, 1);

        } else {
            ngx_log_error(NGX_LOG_WARN, pool->log, 0,
                          "balance: standby %V of pool \"%V\" is %M ms "
                          "behind, over max_lag %M ms: no reads until it "
                          "catches up", &peer->server->name,
                          &pool->conf->name, lag, pool->conf->max_lag);
            ngx_http_balance_stats_add(st->stale, 1);
        }

        ngx_http_balance_pool_update(peer);
    }

    ngx_http_balance_pool_settle(pool);
}


/*
 * Every check interval: a peer's lag is measured on one of its idle
 * connections, or on the next to come free.  A check that has not
 * answered within a whole interval leaves a standby's freshness unknown:
 * what it serves must never be older than max_lag plus one interval.
 */

static void
ngx_http_balance_pool_check_handler(ngx_event_t *ev)
{
    ngx_http_balance_peer_t  *peer;

    peer = ev->data;

    /*
     * Checks go on while the worker exits gracefully: it still answers
     * the requests it has, and a standby must stay within the bound for
     * them.  The timer is cancelable and does not hold the exit.
     */
    if (ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, peer->pool->conf->check_interval);

    /* the last check is still in flight, or still waits for a connection */
    if (peer->checking || peer->check_pending) {
        if (peer->recovery) {
            ngx_http_balance_pool_fresh(peer, 1, -1);
        }

        return;
    }

    if (peer->nidle) {
        ngx_http_balance_pool_check(ngx_http_balance_pool_idle_take(peer));
        return;
    }

    if (peer->nup) {
        peer->check_pending = 1;
    }
}
