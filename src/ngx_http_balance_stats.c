
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * Counters in shared memory, added to by every worker with atomic
 * operations, and the Prometheus text page of balance_status.  The zone
 * keeps its name and size across reloads, so counters survive them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_balance_module.h"


#define NGX_HTTP_BALANCE_STATS_VERSION  2
#define NGX_HTTP_BALANCE_STATS_SIZE     (256 * 1024)


static ngx_int_t ngx_http_balance_stats_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_balance_stats_slots(ngx_http_balance_stats_t *st,
    ngx_http_balance_main_conf_t *bmcf, ngx_log_t *log);
static ngx_int_t ngx_http_balance_status_handler(ngx_http_request_t *r);
static u_char *ngx_http_balance_status_render(ngx_http_balance_stats_t *st,
    u_char *p, u_char *last);
static u_char *ngx_http_balance_status_series(u_char *p, u_char *last,
    char *name, ngx_http_balance_server_stats_t *ss, char *label,
    char *value, ngx_atomic_uint_t n);
static u_char *ngx_http_balance_status_servers(u_char *p, u_char *last,
    ngx_http_balance_stats_t *st, char *name, char *type, char *help,
    size_t offset);
static u_char *ngx_http_balance_status_labels(u_char *p, u_char *last,
    char *name, ngx_http_balance_server_stats_t *ss);
static u_char *ngx_http_balance_status_escape(u_char *p, u_char *last,
    u_char *s, size_t len);


static ngx_str_t  ngx_http_balance_stats_zone_name =
    ngx_string("ngx_http_balance_stats");

static uint64_t  ngx_http_balance_batch_le[NGX_HTTP_BALANCE_BATCH_BUCKETS] = {
    1, 2, 5, 10, 20, 50, 100, 1000
};

/* microseconds */
static uint64_t  ngx_http_balance_latency_le[NGX_HTTP_BALANCE_LATENCY_BUCKETS]
    = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000, 5000000
};

static char  *ngx_http_balance_outcome_names[] = {
    "ok", "invalid", "denied", "method_not_allowed", "unavailable",
    "overloaded", "fallback", "gone"
};

static char  *ngx_http_balance_method_names[] = {
    "eth_getBalance", "ping", "eth_chainId", "net_version", "other"
};

static char  *ngx_http_balance_db_error_names[] = {
    "connect", "statement", "timeout", "lost"
};

static char  *ngx_http_balance_refused_names[] = {
    "full", "timeout", "down"
};

static char  *ngx_http_balance_pg_state_names[] = {
    "closed", "connecting", "preparing", "idle", "busy"
};


ngx_int_t
ngx_http_balance_stats_zone(ngx_conf_t *cf)
{
    ngx_shm_zone_t                *zone;
    ngx_http_balance_main_conf_t  *bmcf;

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_balance_module);

    if (bmcf->stats_zone) {
        return NGX_OK;
    }

    zone = ngx_shared_memory_add(cf, &ngx_http_balance_stats_zone_name,
                                 NGX_HTTP_BALANCE_STATS_SIZE,
                                 &ngx_http_balance_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_balance_stats_init_zone;
    zone->data = bmcf;

    bmcf->stats_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_balance_stats_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_balance_stats_t *ost = data;

    ngx_slab_pool_t               *shpool;
    ngx_http_balance_stats_t      *st;
    ngx_http_balance_main_conf_t  *bmcf;

    bmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (ost && ost->version == NGX_HTTP_BALANCE_STATS_VERSION) {
        /* a reload: the same memory, counters go on */
        st = ost;

    } else {
        st = ngx_slab_calloc(shpool, sizeof(ngx_http_balance_stats_t));
        if (st == NULL) {
            return NGX_ERROR;
        }

        st->version = NGX_HTTP_BALANCE_STATS_VERSION;
        shpool->data = st;
    }

    shm_zone->data = st;

    return ngx_http_balance_stats_slots(st, bmcf, shm_zone->shm.log);
}


/* finds or adds the slots of this configuration's pools and servers */

static ngx_int_t
ngx_http_balance_stats_slots(ngx_http_balance_stats_t *st,
    ngx_http_balance_main_conf_t *bmcf, ngx_log_t *log)
{
    u_char                          name[2 * NGX_HTTP_BALANCE_STATS_NAME_LEN];
    size_t                          len;
    ngx_uint_t                      i, j, k;
    ngx_http_balance_server_t      *servers;
    ngx_http_balance_pool_conf_t  **pools;

    pools = bmcf->pools.elts;

    for (i = 0; i < bmcf->pools.nelts; i++) {
        len = ngx_min(pools[i]->name.len, NGX_HTTP_BALANCE_STATS_NAME_LEN);

        for (k = 0; k < st->npools; k++) {
            if (st->pools[k].len == len
                && ngx_memcmp(st->pools[k].name, pools[i]->name.data, len)
                   == 0)
            {
                break;
            }
        }

        if (k == st->npools) {
            if (k == NGX_HTTP_BALANCE_STATS_MAX_POOLS) {
                goto full;
            }

            ngx_memcpy(st->pools[k].name, pools[i]->name.data, len);
            st->pools[k].len = len;
            st->npools++;
        }

        pools[i]->stats = &st->pools[k];

        servers = pools[i]->servers.elts;

        for (j = 0; j < pools[i]->servers.nelts; j++) {
            len = ngx_snprintf(name, sizeof(name), "%V%Z%V", &pools[i]->name,
                               &servers[j].name)
                  - name;

            for (k = 0; k < st->nservers; k++) {
                if (st->servers[k].len == len
                    && ngx_memcmp(st->servers[k].name, name, len) == 0)
                {
                    break;
                }
            }

            if (k == st->nservers) {
                if (k == NGX_HTTP_BALANCE_STATS_MAX_SERVERS) {
                    goto full;
                }

                ngx_memcpy(st->servers[k].name, name, len);
                st->servers[k].len = len;
                st->nservers++;
            }

            servers[j].stats = &st->servers[k];
        }
    }

    return NGX_OK;

full:

    ngx_log_error(NGX_LOG_EMERG, log, 0,
                  "balance: too many pools or servers for the statistics "
                  "zone (at most %d and %d since the last restart)",
                  NGX_HTTP_BALANCE_STATS_MAX_POOLS,
                  NGX_HTTP_BALANCE_STATS_MAX_SERVERS);
    return NGX_ERROR;
}


ngx_http_balance_stats_t *
ngx_http_balance_stats(ngx_cycle_t *cycle)
{
    ngx_http_balance_main_conf_t  *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_balance_module);

    if (bmcf == NULL || bmcf->stats_zone == NULL) {
        return NULL;
    }

    return bmcf->stats_zone->data;
}


void
ngx_http_balance_stats_request(ngx_http_balance_stats_t *st,
    ngx_http_balance_outcome_e outcome, ngx_uint_t batch, uint64_t usec)
{
    ngx_uint_t  i;

    ngx_http_balance_stats_add(st->requests[outcome], 1);

    if (batch) {
        for (i = 0; i < NGX_HTTP_BALANCE_BATCH_BUCKETS; i++) {
            if (batch <= ngx_http_balance_batch_le[i]) {
                break;
            }
        }

        ngx_http_balance_stats_add(st->batch[i], 1);
        ngx_http_balance_stats_add(st->batch_sum, batch);
    }

    if (outcome == NGX_HTTP_BALANCE_OUTCOME_FALLBACK) {
        return;
    }

    for (i = 0; i < NGX_HTTP_BALANCE_LATENCY_BUCKETS; i++) {
        if (usec <= ngx_http_balance_latency_le[i]) {
            break;
        }
    }

    ngx_http_balance_stats_add(st->latency[i], 1);
    ngx_http_balance_stats_add(st->latency_usec, usec);
}


char *
ngx_http_balance_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_http_balance_stats_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_balance_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_balance_status_handler(ngx_http_request_t *r)
{
    size_t                         size;
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_uint_t                     i;
    ngx_chain_t                    out;
    ngx_http_balance_stats_t      *st;
    ngx_http_balance_main_conf_t  *bmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    bmcf = ngx_http_get_module_main_conf(r, ngx_http_balance_module);
    st = bmcf->stats_zone->data;

    /*
     * Room for every series: at most 8 per pool and 13 per server, each
     * a name and labels under 128 bytes plus the values, escaped at most
     * to twice their length.
     */

    size = 20480;

    for (i = 0; i < st->npools; i++) {
        size += 8 * (128 + 2 * st->pools[i].len);
    }

    for (i = 0; i < st->nservers; i++) {
        size += 18 * (128 + 2 * st->servers[i].len);
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_http_balance_status_render(st, b->pos, b->end);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static u_char *
ngx_http_balance_status_render(ngx_http_balance_stats_t *st, u_char *p,
    u_char *last)
{
    uint64_t                          n;
    ngx_atomic_uint_t                 lag;
    ngx_uint_t                        i, j;
    ngx_http_balance_pool_stats_t    *ps;
    ngx_http_balance_server_stats_t  *ss;

    p = ngx_slprintf(p, last,
            "# HELP balance_requests_total HTTP requests the module handled,"
            " by outcome.\n"
            "# TYPE balance_requests_total counter\n");

    for (i = 0; i < NGX_HTTP_BALANCE_OUTCOME_N; i++) {
        p = ngx_slprintf(p, last, "balance_requests_total{outcome=\"%s\"} %uA\n",
                         ngx_http_balance_outcome_names[i], st->requests[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP balance_calls_total JSON-RPC calls answered, by method "
            "and result.\n"
            "# TYPE balance_calls_total counter\n");

    for (i = 0; i < NGX_HTTP_BALANCE_METHOD_N; i++) {
        for (j = 0; j < 2; j++) {
            p = ngx_slprintf(p, last,
                             "balance_calls_total{method=\"%s\",result=\"%s\"}"
                             " %uA\n", ngx_http_balance_method_names[i],
                             j ? "ok" : "error", st->calls[i][j]);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP balance_batch_size JSON-RPC batch sizes.\n"
            "# TYPE balance_batch_size histogram\n");

    for (i = 0, n = 0; i < NGX_HTTP_BALANCE_BATCH_BUCKETS; i++) {
        n += st->batch[i];
        p = ngx_slprintf(p, last, "balance_batch_size_bucket{le=\"%uL\"} %uL\n",
                         ngx_http_balance_batch_le[i], n);
    }

    n += st->batch[i];
    p = ngx_slprintf(p, last,
                     "balance_batch_size_bucket{le=\"+Inf\"} %uL\n"
                     "balance_batch_size_sum %uA\n"
                     "balance_batch_size_count %uL\n",
                     n, st->batch_sum, n);

    p = ngx_slprintf(p, last,
            "# HELP balance_request_duration_seconds Time from the complete "
            "request body to the answer.\n"
            "# TYPE balance_request_duration_seconds histogram\n");

    for (i = 0, n = 0; i < NGX_HTTP_BALANCE_LATENCY_BUCKETS; i++) {
        n += st->latency[i];
        p = ngx_slprintf(p, last,
                         "balance_request_duration_seconds_bucket"
                         "{le=\"%uL.%06uL\"} %uL\n",
                         ngx_http_balance_latency_le[i] / 1000000,
                         ngx_http_balance_latency_le[i] % 1000000, n);
    }

    n += st->latency[i];
    p = ngx_slprintf(p, last,
                     "balance_request_duration_seconds_bucket{le=\"+Inf\"} "
                     "%uL\n"
                     "balance_request_duration_seconds_sum %uA.%06uA\n"
                     "balance_request_duration_seconds_count %uL\n",
                     n, st->latency_usec / 1000000,
                     st->latency_usec % 1000000, n);

    p = ngx_slprintf(p, last,
            "# HELP balance_queue_waiting Requests waiting for a connection.\n"
            "# TYPE balance_queue_waiting gauge\n");

    for (i = 0; i < st->npools; i++) {
        ps = &st->pools[i];
        p = ngx_slprintf(p, last, "balance_queue_waiting{pool=\"");
        p = ngx_http_balance_status_escape(p, last, ps->name, ps->len);
        p = ngx_slprintf(p, last, "\"} %uA\n", ps->waiting);
    }

    p = ngx_slprintf(p, last,
            "# HELP balance_queue_rejected_total Lookups refused without a "
            "statement, by reason.\n"
            "# TYPE balance_queue_rejected_total counter\n");

    for (i = 0; i < st->npools; i++) {
        ps = &st->pools[i];

        for (j = 0; j < NGX_HTTP_BALANCE_REFUSED_N; j++) {
            p = ngx_slprintf(p, last, "balance_queue_rejected_total{pool=\"");
            p = ngx_http_balance_status_escape(p, last, ps->name, ps->len);
            p = ngx_slprintf(p, last, "\",reason=\"%s\"} %uA\n",
                             ngx_http_balance_refused_names[j],
                             ps->refused[j]);
        }
    }

    /* one family after the other, each with all its series */

    p = ngx_http_balance_status_servers(p, last, st,
            "balance_db_statements_total", "counter",
            "Lookup statements sent.",
            offsetof(ngx_http_balance_server_stats_t, statements));

    p = ngx_http_balance_status_servers(p, last, st,
            "balance_db_keys_total", "counter",
            "Distinct addresses looked up.",
            offsetof(ngx_http_balance_server_stats_t, keys));

    p = ngx_slprintf(p, last,
            "# HELP balance_db_errors_total Database failures, by kind.\n"
            "# TYPE balance_db_errors_total counter\n");

    for (i = 0; i < st->nservers; i++) {
        ss = &st->servers[i];

        for (j = 0; j < NGX_HTTP_BALANCE_DB_ERROR_N; j++) {
            p = ngx_http_balance_status_series(p, last,
                                        "balance_db_errors_total", ss, "kind",
                                        ngx_http_balance_db_error_names[j],
                                        ss->errors[j]);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP balance_db_connections Connections, by state.\n"
            "# TYPE balance_db_connections gauge\n");

    for (i = 0; i < st->nservers; i++) {
        ss = &st->servers[i];

        for (j = 0; j < NGX_HTTP_BALANCE_PG_STATES; j++) {
            p = ngx_http_balance_status_series(p, last,
                                        "balance_db_connections", ss, "state",
                                        ngx_http_balance_pg_state_names[j],
                                        ss->connections[j]);
        }
    }

    p = ngx_http_balance_status_servers(p, last, st,
            "balance_server_usable", "gauge",
            "Workers that send lookups to the server: connected, and not in "
            "recovery or within max_lag.",
            offsetof(ngx_http_balance_server_stats_t, usable));

    p = ngx_http_balance_status_servers(p, last, st,
            "balance_server_in_recovery", "gauge",
            "1 when the last check found the server in recovery: a standby.",
            offsetof(ngx_http_balance_server_stats_t, recovery));

    p = ngx_slprintf(p, last,
            "# HELP balance_server_lag_seconds Replay lag at the last check, "
            "0 for a server not in recovery, NaN when unknown.\n"
            "# TYPE balance_server_lag_seconds gauge\n");

    for (i = 0; i < st->nservers; i++) {
        ss = &st->servers[i];
        lag = ss->lag;
        p = ngx_http_balance_status_labels(p, last,
                                           "balance_server_lag_seconds", ss);

        if (lag == 0) {
            p = ngx_slprintf(p, last, "\"} NaN\n");

        } else {
            p = ngx_slprintf(p, last, "\"} %uA.%03uA\n",
                             (lag - 1) / 1000, (lag - 1) % 1000);
        }
    }

    p = ngx_http_balance_status_servers(p, last, st,
            "balance_server_checks_total", "counter",
            "Freshness checks sent.",
            offsetof(ngx_http_balance_server_stats_t, checks));

    return ngx_http_balance_status_servers(p, last, st,
            "balance_server_stale_total", "counter",
            "Times a worker stopped reading from the server because it was "
            "over max_lag.",
            offsetof(ngx_http_balance_server_stats_t, stale));
}


/* a metric of one series per server: the counter at "offset" of each */

static u_char *
ngx_http_balance_status_servers(u_char *p, u_char *last,
    ngx_http_balance_stats_t *st, char *name, char *type, char *help,
    size_t offset)
{
    ngx_uint_t                        i;
    ngx_http_balance_server_stats_t  *ss;

    p = ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n",
                     name, help, name, type);

    for (i = 0; i < st->nservers; i++) {
        ss = &st->servers[i];
        p = ngx_http_balance_status_series(p, last, name, ss, NULL, NULL,
                                     *(ngx_atomic_t *) ((u_char *) ss + offset));
    }

    return p;
}


/* name{pool="...",server="..." with the label values escaped */

static u_char *
ngx_http_balance_status_labels(u_char *p, u_char *last, char *name,
    ngx_http_balance_server_stats_t *ss)
{
    size_t  len;

    len = ngx_strlen(ss->name);

    p = ngx_slprintf(p, last, "%s{pool=\"", name);
    p = ngx_http_balance_status_escape(p, last, ss->name, len);
    p = ngx_slprintf(p, last, "\",server=\"");

    return ngx_http_balance_status_escape(p, last, ss->name + len + 1,
                                          ss->len - len - 1);
}


/* name{pool="...",server="..."[,label="value"]} n */

static u_char *
ngx_http_balance_status_series(u_char *p, u_char *last, char *name,
    ngx_http_balance_server_stats_t *ss, char *label, char *value,
    ngx_atomic_uint_t n)
{
    p = ngx_http_balance_status_labels(p, last, name, ss);

    if (label) {
        p = ngx_slprintf(p, last, "\",%s=\"%s", label, value);
    }

    return ngx_slprintf(p, last, "\"} %uA\n", n);
}


static u_char *
ngx_http_balance_status_escape(u_char *p, u_char *last, u_char *s,
    size_t len)
{
    for ( /* void */ ; len && p < last; len--, s++) {
        if (*s != '\\' && *s != '"' && *s != '\n') {
            *p++ = *s;
            continue;
        }

        if (last - p < 2) {
            break;
        }

        *p++ = '\\';
        *p++ = (*s == '\n') ? 'n' : *s;
    }

    return p;

}
