
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_balance_module.h"


/*
 * One libpq connection driven by nginx's event loop.
 *
 * The socket is libpq's: nginx only wraps it in an ngx_connection_t to get
 * events and timers, and never closes it (PQfinish() does).  Events are
 * level-triggered on purpose: libpq reads what fits in its buffer and does
 * not say whether the socket is drained, so an edge could be lost; with
 * level events a readable socket keeps reporting until libpq took it all.
 * Write interest is only registered while libpq has something to send.
 *
 * Every call here returns at once: PQconnectPoll, PQsendQueryPrepared and
 * PQflush on a non-blocking connection, PQconsumeInput, and PQgetResult
 * only once PQisBusy() says a result is complete.
 */


static ngx_int_t ngx_http_balance_pg_wrap(ngx_http_balance_pg_t *pg);
static void ngx_http_balance_pg_unwrap(ngx_http_balance_pg_t *pg,
    ngx_uint_t closed);
static void ngx_http_balance_pg_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_balance_pg_poll(ngx_http_balance_pg_t *pg);
static ngx_int_t ngx_http_balance_pg_prepare(ngx_http_balance_pg_t *pg);
static ngx_int_t ngx_http_balance_pg_flush(ngx_http_balance_pg_t *pg);
static ngx_int_t ngx_http_balance_pg_read(ngx_http_balance_pg_t *pg);
static ngx_int_t ngx_http_balance_pg_idle(ngx_http_balance_pg_t *pg);
static ngx_int_t ngx_http_balance_pg_want_write(ngx_http_balance_pg_t *pg,
    ngx_uint_t want);
static void ngx_http_balance_pg_notice(void *arg, const char *message);
static void ngx_http_balance_pg_error(ngx_http_balance_pg_t *pg,
    const char *what, const char *message);
static size_t ngx_http_balance_pg_line(const char *message, u_char *text,
    size_t size);
static u_char *ngx_http_balance_pg_log_error(ngx_log_t *log, u_char *buf,
    size_t len);


/* moves a connection to a state, and the shared gauges with it */

void
ngx_http_balance_pg_set_state(ngx_http_balance_pg_t *pg,
    ngx_http_balance_pg_state_e state)
{
    ngx_http_balance_server_stats_t  *st;

    st = pg->server->stats;

    ngx_http_balance_stats_add(st->connections[pg->state], -1);
    ngx_http_balance_stats_add(st->connections[state], 1);

    pg->state = state;
}


void
ngx_http_balance_pg_connect(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_pool_conf_t  *pcf;

    pcf = pg->pool->conf;

    pg->log.handler = ngx_http_balance_pg_log_error;
    pg->log.data = pg;
    pg->log.action = "connecting to PostgreSQL";

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, &pg->log, 0, "balance: connecting");

    /* a worker's first connections count as connecting from its start */
    if (pg->state != NGX_HTTP_BALANCE_PG_CONNECTING) {
        ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_CONNECTING);
        pg->pool->nconnecting++;
    }

    pg->conn = PQconnectStartParams(pg->server->keywords, pg->server->values,
                                    0);

    if (pg->conn == NULL) {
        ngx_log_error(NGX_LOG_ALERT, &pg->log, 0,
                      "balance: PQconnectStartParams() failed: no memory");
        goto failed;
    }

    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        ngx_http_balance_pg_error(pg, "connect failed",
                                  PQerrorMessage(pg->conn));
        goto failed;
    }

    /* route notices to error_log, not libpq's default of stderr */
    PQsetNoticeProcessor(pg->conn, ngx_http_balance_pg_notice, pg);

    if (PQsetnonblocking(pg->conn, 1) == -1) {
        ngx_http_balance_pg_error(pg, "PQsetnonblocking() failed",
                                  PQerrorMessage(pg->conn));
        goto failed;
    }

    if (ngx_http_balance_pg_wrap(pg) != NGX_OK) {
        goto failed;
    }

    ngx_add_timer(pg->c->read, pcf->connect_timeout);

    /* libpq's first step is a non-blocking connect(): wait for writable */
    if (ngx_http_balance_pg_want_write(pg, 1) != NGX_OK) {
        ngx_http_balance_pool_lost(pg);
    }

    return;

failed:

    ngx_http_balance_pool_lost(pg);
}


static ngx_int_t
ngx_http_balance_pg_wrap(ngx_http_balance_pg_t *pg)
{
    ngx_socket_t       fd;
    ngx_connection_t  *c;

    fd = PQsocket(pg->conn);

    if (fd == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ERR, &pg->log, 0,
                      "balance: libpq has no socket");
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, &pg->log);
    if (c == NULL) {
        /* the log line is ngx_get_connection()'s: worker_connections */
        return NGX_ERROR;
    }

    c->data = pg;
    c->log = &pg->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_http_balance_pg_handler;
    c->write->handler = ngx_http_balance_pg_handler;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    c->start_time = ngx_current_msec;

    pg->c = c;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_http_balance_pg_unwrap(pg, 0);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * ngx_close_connection() without the close(): the socket belongs to libpq.
 * "closed" tells that libpq already closed it, so the kernel dropped it
 * from the event set and no system call must name the descriptor again.
 */

static void
ngx_http_balance_pg_unwrap(ngx_http_balance_pg_t *pg, ngx_uint_t closed)
{
    ngx_uint_t         flags;
    ngx_connection_t  *c;

    c = pg->c;

    if (c == NULL) {
        return;
    }

    pg->c = NULL;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    flags = closed ? NGX_CLOSE_EVENT : 0;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


/* the one place that lets go of a libpq connection */

void
ngx_http_balance_pg_close(ngx_http_balance_pg_t *pg)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &pg->log, 0,
                   "balance: close connection in state %d", pg->state);

    if (pg->state == NGX_HTTP_BALANCE_PG_CONNECTING
        || pg->state == NGX_HTTP_BALANCE_PG_PREPARING)
    {
        pg->pool->nconnecting--;
    }

    /* PQfinish() closes the socket: forget it first */
    ngx_http_balance_pg_unwrap(pg, 1);

    if (pg->res != NULL) {
        PQclear(pg->res);
        pg->res = NULL;
    }

    if (pg->conn != NULL) {
        /* non-blocking: the Terminate message is sent if it fits, no wait */
        PQfinish(pg->conn);
        pg->conn = NULL;
    }

    ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_CLOSED);
    pg->error = 0;
    pg->timedout = 0;
    pg->fatal = 0;
    pg->unprepared = 0;
}


/* sends the round's keys, built by the pool in pg->param */

ngx_int_t
ngx_http_balance_pg_query(ngx_http_balance_pg_t *pg)
{
    const char  *values[1];

    values[0] = (const char *) pg->param;

    /* busy first: a failure below is the loss of a busy connection */
    ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_BUSY);
    pg->log.action = "querying PostgreSQL";

    if (pg->pool->conf->prepared) {
        if (!PQsendQueryPrepared(pg->conn, "ngx_balance", 1, values, NULL,
                                 NULL, 0))
        {
            ngx_http_balance_pg_error(pg, "PQsendQueryPrepared() failed",
                                      PQerrorMessage(pg->conn));
            return NGX_ERROR;
        }

    } else if (!PQsendQueryParams(pg->conn,
                                  (char *) pg->pool->conf->prepare.data, 1,
                                  NULL, values, NULL, NULL, 0))
    {
        ngx_http_balance_pg_error(pg, "PQsendQueryParams() failed",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }

    ngx_http_balance_stats_add(pg->server->stats->statements, 1);
    ngx_http_balance_stats_add(pg->server->stats->keys, pg->nkeys);

    ngx_add_timer(pg->c->read, pg->pool->conf->query_timeout);

    return ngx_http_balance_pg_flush(pg) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/*
 * The freshness check: whether the server is in recovery; for a standby,
 * its own estimate of its lag in ms (0 when it replayed all it received:
 * the age of the last replayed commit alone would grow while the primary
 * is merely idle; NULL when nothing was replayed yet); and its WAL
 * position: what it replayed, or for a primary, what was inserted (commits
 * with synchronous_commit off included).  A plain query, nothing prepared:
 * it runs a few times a second at most.
 */

static char  ngx_http_balance_check_sql[] =
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN NOT pg_is_in_recovery() "
    "OR pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0 "
    "ELSE greatest(0, (extract(epoch FROM now() "
    "- pg_last_xact_replay_timestamp()) * 1000)::bigint) END, "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_insert_lsn() END";


ngx_int_t
ngx_http_balance_pg_check(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_BUSY);
    pg->check = 1;
    pg->log.action = "checking the lag of PostgreSQL";

    if (!PQsendQuery(pg->conn, ngx_http_balance_check_sql)) {
        ngx_http_balance_pg_error(pg, "PQsendQuery() failed",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }

    ngx_http_balance_stats_add(pg->server->stats->checks, 1);

    ngx_add_timer(pg->c->read, pg->pool->conf->query_timeout);

    return ngx_http_balance_pg_flush(pg) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static void
ngx_http_balance_pg_handler(ngx_event_t *ev)
{
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_http_balance_pg_t  *pg;

    c = ev->data;
    pg = c->data;

    if (ev->timedout) {
        ev->timedout = 0;
        ngx_http_balance_pg_error(pg, "PostgreSQL timed out", NULL);
        pg->timedout = 1;
        ngx_http_balance_pool_lost(pg);
        return;
    }

    switch (pg->state) {

    case NGX_HTTP_BALANCE_PG_CONNECTING:
        rc = ngx_http_balance_pg_poll(pg);
        break;

    case NGX_HTTP_BALANCE_PG_PREPARING:
    case NGX_HTTP_BALANCE_PG_BUSY:
        rc = ngx_http_balance_pg_flush(pg);

        if (rc != NGX_ERROR) {
            rc = ngx_http_balance_pg_read(pg);
        }

        break;

    case NGX_HTTP_BALANCE_PG_IDLE:
        rc = ngx_http_balance_pg_idle(pg);
        break;

    default: /* NGX_HTTP_BALANCE_PG_CLOSED */
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_http_balance_pool_lost(pg);
        return;
    }

    if (rc == NGX_AGAIN) {
        return;
    }

    /* NGX_OK: a step completed */

    if (pg->state == NGX_HTTP_BALANCE_PG_PREPARING) {
        if (pg->error) {
            ngx_http_balance_pool_lost(pg);
            return;
        }

        ngx_http_balance_pool_connected(pg);
        return;
    }

    if (pg->state == NGX_HTTP_BALANCE_PG_BUSY) {
        ngx_http_balance_pool_release(pg);
    }
}


static ngx_int_t
ngx_http_balance_pg_poll(ngx_http_balance_pg_t *pg)
{
    ngx_socket_t                 fd;
    PostgresPollingStatusType    st;

    st = PQconnectPoll(pg->conn);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &pg->log, 0,
                   "balance: connect poll: %d, status: %d",
                   st, PQstatus(pg->conn));

    fd = PQsocket(pg->conn);

    if (st != PGRES_POLLING_FAILED && pg->c && fd != pg->c->fd) {
        /*
         * libpq moved to another socket (a retried TLS or GSS handshake):
         * the old one is closed already, wrap the new one.
         */
        ngx_http_balance_pg_unwrap(pg, 1);

        if (ngx_http_balance_pg_wrap(pg) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_add_timer(pg->c->read, pg->pool->conf->connect_timeout);
    }

    switch (st) {

    case PGRES_POLLING_WRITING:
        return ngx_http_balance_pg_want_write(pg, 1) == NGX_OK ? NGX_AGAIN
                                                                : NGX_ERROR;

    case PGRES_POLLING_READING:
        return ngx_http_balance_pg_want_write(pg, 0) == NGX_OK ? NGX_AGAIN
                                                                : NGX_ERROR;

    case PGRES_POLLING_OK:
        return ngx_http_balance_pg_prepare(pg);

    default: /* PGRES_POLLING_FAILED */
        ngx_http_balance_pg_error(pg, "connect failed",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }
}


/* a new connection prepares the lookup statement once */

static ngx_int_t
ngx_http_balance_pg_prepare(ngx_http_balance_pg_t *pg)
{
    ngx_http_balance_pool_conf_t  *pcf;

    pcf = pg->pool->conf;

    ngx_http_balance_pg_set_state(pg, NGX_HTTP_BALANCE_PG_PREPARING);
    pg->log.action = "preparing the lookup statement";

    /* connect_timeout ends here */
    if (pg->c->read->timer_set) {
        ngx_del_timer(pg->c->read);
    }

    if (!pcf->prepared) {
        /* nothing to prepare: the step is complete, the caller sees it */
        return ngx_http_balance_pg_want_write(pg, 0) == NGX_OK ? NGX_OK
                                                                : NGX_ERROR;
    }

    /*
     * A protocol-level Parse, not an SQL PREPARE: poolers that track
     * prepared statements (PgBouncer 1.21+ in transaction mode) see it.
     */
    if (!PQsendPrepare(pg->conn, "ngx_balance", (char *) pcf->prepare.data,
                       1, NULL))
    {
        ngx_http_balance_pg_error(pg, "PQsendPrepare() failed",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }

    ngx_add_timer(pg->c->read, pcf->query_timeout);

    if (ngx_http_balance_pg_flush(pg) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_balance_pg_flush(ngx_http_balance_pg_t *pg)
{
    int  rc;

    rc = PQflush(pg->conn);

    if (rc == -1) {
        ngx_http_balance_pg_error(pg, "PQflush() failed",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }

    /* 1: libpq still holds output, wait until the socket takes more */
    if (ngx_http_balance_pg_want_write(pg, rc == 1) != NGX_OK) {
        return NGX_ERROR;
    }

    return rc == 1 ? NGX_AGAIN : NGX_OK;
}


/*
 * Reads what arrived and collects the results of the statement in flight:
 * NGX_AGAIN until libpq has seen the end of it, then NGX_OK with the first
 * result kept in pg->res.
 */

static ngx_int_t
ngx_http_balance_pg_read(ngx_http_balance_pg_t *pg)
{
    char            *sqlstate;
    PGresult        *res;
    ExecStatusType   st, expect;

    if (!PQconsumeInput(pg->conn)) {
        ngx_http_balance_pg_error(pg, "connection lost",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }

    expect = pg->state == NGX_HTTP_BALANCE_PG_PREPARING ? PGRES_COMMAND_OK
                                                         : PGRES_TUPLES_OK;

    for ( ;; ) {
        if (PQisBusy(pg->conn)) {
            return NGX_AGAIN;
        }

        res = PQgetResult(pg->conn);

        if (res == NULL) {
            break;
        }

        st = PQresultStatus(res);

        if (st != expect) {
            /*
             * A failed statement (a statement timeout, a missing table)
             * fails its round; the connection is kept if it stays usable.
             * The statement itself gone (a pooler switched the server
             * connection under us) is a lost connection: nothing ran,
             * the round is tried again, the connection prepares anew.
             */
            ngx_http_balance_pg_error(pg, "statement failed",
                                      PQresultErrorMessage(res));

            sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

            if (pg->state == NGX_HTTP_BALANCE_PG_BUSY && !pg->check
                && sqlstate && ngx_strcmp(sqlstate, "26000") == 0)
            {
                pg->unprepared = 1;
            }

            PQclear(res);
            pg->error = 1;
            continue;
        }

        if (pg->res == NULL) {
            pg->res = res;

        } else {
            PQclear(res);
        }
    }

    if (pg->c->read->timer_set) {
        ngx_del_timer(pg->c->read);
    }

    if (pg->unprepared) {
        return NGX_ERROR;
    }

    /* only a connection with no transaction open may be reused */
    if (PQstatus(pg->conn) != CONNECTION_OK
        || PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
    {
        ngx_log_error(NGX_LOG_ERR, &pg->log, 0,
                      "balance: connection not idle after the statement");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* an idle connection became readable: a notice, or the server closing */

static ngx_int_t
ngx_http_balance_pg_idle(ngx_http_balance_pg_t *pg)
{
    PGresult  *res;

    if (!PQconsumeInput(pg->conn)) {
        ngx_http_balance_pg_error(pg, "idle connection lost",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }

    if (PQstatus(pg->conn) == CONNECTION_BAD || pg->fatal) {
        ngx_http_balance_pg_error(pg, "idle connection lost",
                                  PQerrorMessage(pg->conn));
        return NGX_ERROR;
    }

    if (!PQisBusy(pg->conn)) {
        res = PQgetResult(pg->conn);

        if (res != NULL) {
            /* the server said something unasked for, often a FATAL */
            ngx_http_balance_pg_error(pg, "idle connection got a message",
                                      PQresultErrorMessage(res));
            PQclear(res);
            return NGX_ERROR;
        }
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_balance_pg_want_write(ngx_http_balance_pg_t *pg, ngx_uint_t want)
{
    ngx_event_t  *wev;

    wev = pg->c->write;

    if (want && !wev->active) {
        return ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }

    if (!want && wev->active) {
        return ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }

    return NGX_OK;
}


static void
ngx_http_balance_pg_notice(void *arg, const char *message)
{
    ngx_http_balance_pg_t  *pg = arg;

    u_char  text[NGX_MAX_ERROR_STR / 2];
    size_t  len;

    len = ngx_http_balance_pg_line(message, text, sizeof(text));

    ngx_log_error(NGX_LOG_NOTICE, &pg->log, 0, "balance: PostgreSQL: %*s",
                  len, text);

    /*
     * A FATAL outside a statement (a terminated backend, a shutdown) comes
     * as a notice, and the end of the stream may come later: the caller
     * drops the connection now, so that no lookup takes it meanwhile.
     */
    if (ngx_strncmp(message, "FATAL:", 6) == 0) {
        pg->fatal = 1;
    }
}


/*
 * Logs a failure once per state change: a connection's first failure since
 * it last worked at "error", its repeats, and anything while the whole pool
 * is down, at "debug".
 */

static void
ngx_http_balance_pg_error(ngx_http_balance_pg_t *pg, const char *what,
    const char *message)
{
    u_char      text[NGX_MAX_ERROR_STR / 2];
    size_t      len;
    ngx_uint_t  level;

    len = ngx_http_balance_pg_line(message, text, sizeof(text));

    level = (pg->failed || pg->pool->down) ? NGX_LOG_DEBUG : NGX_LOG_ERR;
    pg->failed = 1;

    if (len == 0) {
        ngx_log_error(level, &pg->log, 0, "balance: %s", what);
        return;
    }

    ngx_log_error(level, &pg->log, 0, "balance: %s: %*s", what, len, text);
}


/* libpq's messages span lines: one log line each, as nginx's are */

static size_t
ngx_http_balance_pg_line(const char *message, u_char *text, size_t size)
{
    u_char  *p, *last;

    p = text;
    last = text + size;

    for ( /* void */ ; message && *message && p < last; message++) {
        if (*message == '\n' || *message == '\t') {
            if (p > text && p[-1] != ' ') {
                *p++ = ' ';
            }

            continue;
        }

        *p++ = *message;
    }

    while (p > text && p[-1] == ' ') {
        p--;
    }

    return p - text;
}


static u_char *
ngx_http_balance_pg_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                 *p;
    ngx_http_balance_pg_t  *pg;

    p = buf;
    pg = log->data;

    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    return ngx_snprintf(buf, len, ", pool: %V, server: %V",
                        &pg->pool->conf->name, &pg->server->name);
}
