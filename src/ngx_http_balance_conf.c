
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * balance_pool { } blocks: their inner directives, the conninfo checks and
 * the lookup statement, all done at configuration time.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "ngx_http_balance_module.h"


/* inner directives of balance_pool { } and their arguments */
typedef struct {
    ngx_str_t    name;
    ngx_uint_t   min;
    ngx_uint_t   max;
} ngx_http_balance_pool_arg_t;


static char *ngx_http_balance_pool_directive(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_balance_pool_table(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf);
static char *ngx_http_balance_pool_queue(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf);
static char *ngx_http_balance_pool_backoff(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf);
static char *ngx_http_balance_pool_server(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf);
static char *ngx_http_balance_pool_max_lag(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf);
static ngx_uint_t ngx_http_balance_budget_need(
    ngx_http_balance_main_conf_t *bmcf, ngx_str_t *name,
    ngx_http_balance_server_t **first);
static char *ngx_http_balance_pool_finish(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf);
static char *ngx_http_balance_server_init(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf, ngx_http_balance_server_t *server);
static ngx_int_t ngx_http_balance_resolve(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf, const char *host, ngx_str_t *addr);
static ngx_int_t ngx_http_balance_quote(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *quoted, ngx_uint_t schema);
static char *ngx_http_balance_strdup(ngx_pool_t *pool, const char *s);
static char *ngx_http_balance_pool_duplicate(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf);


static ngx_http_balance_pool_arg_t  ngx_http_balance_pool_args[] = {
    { ngx_string("server"), 1, 4 },
    { ngx_string("connections"), 1, 1 },
    { ngx_string("queue"), 1, 2 },
    { ngx_string("connect_timeout"), 1, 1 },
    { ngx_string("query_timeout"), 1, 1 },
    { ngx_string("table"), 1, 3 },
    { ngx_string("round"), 1, 1 },
    { ngx_string("backoff"), 1, 2 },
    { ngx_string("max_lag"), 1, 2 },
    { ngx_string("prepare"), 1, 1 },
    { ngx_null_string, 0, 0 }
};


char *
ngx_http_balance_pool_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_balance_main_conf_t *bmcf = conf;

    char                           *rv;
    u_char                          c;
    ngx_str_t                      *value;
    ngx_uint_t                      i;
    ngx_conf_t                      save;
    ngx_http_balance_pool_conf_t   *pcf, **pp;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid balance_pool name \"%V\": 1 to 64 "
                           "characters are expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!(c == '_' || c == '-' || c == '.' || (c >= '0' && c <= '9')
              || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid balance_pool name \"%V\": letters, "
                               "digits, \"_\", \"-\" and \".\" are "
                               "expected", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_balance_find_pool(cf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate balance_pool \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    pcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_balance_pool_conf_t));
    if (pcf == NULL) {
        return NGX_CONF_ERROR;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     pcf->table = { 0, NULL };
     *     pcf->key = { 0, NULL };
     *     pcf->value = { 0, NULL };
     *     pcf->prepare = { 0, NULL };
     *     pcf->rt = NULL;
     */

    pcf->name = value[1];
    pcf->connections = NGX_CONF_UNSET_UINT;
    pcf->queue = NGX_CONF_UNSET_UINT;
    pcf->queue_timeout = NGX_CONF_UNSET_MSEC;
    pcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    pcf->query_timeout = NGX_CONF_UNSET_MSEC;
    pcf->backoff_min = NGX_CONF_UNSET_MSEC;
    pcf->backoff_max = NGX_CONF_UNSET_MSEC;
    pcf->round = NGX_CONF_UNSET_UINT;
    pcf->max_lag = NGX_CONF_UNSET_MSEC;
    pcf->check_interval = NGX_CONF_UNSET_MSEC;
    pcf->prepared = NGX_CONF_UNSET;
    pcf->file = cf->conf_file->file.name.data;
    pcf->line = cf->conf_file->line;

    if (ngx_array_init(&pcf->servers, cf->pool, 1,
                       sizeof(ngx_http_balance_server_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_balance_stats_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    pp = ngx_array_push(&bmcf->pools);
    if (pp == NULL) {
        return NGX_CONF_ERROR;
    }

    *pp = pcf;

    save = *cf;
    cf->handler = ngx_http_balance_pool_directive;
    cf->handler_conf = (char *) pcf;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return ngx_http_balance_pool_finish(cf, pcf);
}


static char *
ngx_http_balance_pool_directive(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_http_balance_pool_conf_t *pcf = conf;

    ngx_int_t                     n;
    ngx_str_t                    *value;
    ngx_msec_t                   *msp;
    ngx_http_balance_pool_arg_t  *arg;

    value = cf->args->elts;

    for (arg = ngx_http_balance_pool_args; arg->name.len; arg++) {
        if (arg->name.len == value[0].len
            && ngx_strncmp(arg->name.data, value[0].data, value[0].len) == 0)
        {
            break;
        }
    }

    if (arg->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown directive \"%V\" in balance_pool \"%V\"",
                           &value[0], &pcf->name);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts - 1 < arg->min || cf->args->nelts - 1 > arg->max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in \"%V\" of "
                           "balance_pool \"%V\"", &value[0], &pcf->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[0].data, "server") == 0) {
        return ngx_http_balance_pool_server(cf, pcf);
    }

    if (ngx_strcmp(value[0].data, "max_lag") == 0) {
        return ngx_http_balance_pool_max_lag(cf, pcf);
    }

    if (ngx_strcmp(value[0].data, "prepare") == 0) {
        if (pcf->prepared != NGX_CONF_UNSET) {
            return ngx_http_balance_pool_duplicate(cf, pcf);
        }

        if (ngx_strcmp(value[1].data, "on") == 0) {
            pcf->prepared = 1;

        } else if (ngx_strcmp(value[1].data, "off") == 0) {
            pcf->prepared = 0;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"prepare\" of "
                               "balance_pool \"%V\": \"on\" or \"off\" is "
                               "expected", &value[1], &pcf->name);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "table") == 0) {
        return ngx_http_balance_pool_table(cf, pcf);
    }

    if (ngx_strcmp(value[0].data, "queue") == 0) {
        return ngx_http_balance_pool_queue(cf, pcf);
    }

    if (ngx_strcmp(value[0].data, "backoff") == 0) {
        return ngx_http_balance_pool_backoff(cf, pcf);
    }

    if (ngx_strcmp(value[0].data, "connections") == 0
        || ngx_strcmp(value[0].data, "round") == 0)
    {
        n = ngx_atoi(value[1].data, value[1].len);
        if (n == NGX_ERROR || n == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" of "
                               "balance_pool \"%V\": a positive number is "
                               "expected", &value[1], &value[0], &pcf->name);
            return NGX_CONF_ERROR;
        }

        if (value[0].data[0] == 'c') {
            if (pcf->connections != NGX_CONF_UNSET_UINT) {
                return ngx_http_balance_pool_duplicate(cf, pcf);
            }

            pcf->connections = n;

        } else {
            if (pcf->round != NGX_CONF_UNSET_UINT) {
                return ngx_http_balance_pool_duplicate(cf, pcf);
            }

            pcf->round = n;
        }

        return NGX_CONF_OK;
    }

    /* connect_timeout, query_timeout */

    msp = value[0].data[0] == 'c' ? &pcf->connect_timeout
                                  : &pcf->query_timeout;

    if (*msp != NGX_CONF_UNSET_MSEC) {
        return ngx_http_balance_pool_duplicate(cf, pcf);
    }

    *msp = ngx_parse_time(&value[1], 0);

    /* statement_timeout is derived from it and must fit PostgreSQL's int */
    if (*msp == (ngx_msec_t) NGX_ERROR || *msp == 0 || *msp > 86400000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid time \"%V\" in \"%V\" of "
                           "balance_pool \"%V\": from 1ms to 1d is expected",
                           &value[1], &value[0], &pcf->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * server "conninfo" [weight=N] [role=primary|standby] [max_connections=N]
 *     [backup]
 */

static char *
ngx_http_balance_pool_server(ngx_conf_t *cf, ngx_http_balance_pool_conf_t *pcf)
{
    ngx_int_t                   n;
    ngx_str_t                  *value, s;
    ngx_uint_t                  i;
    ngx_http_balance_server_t  *server;

    value = cf->args->elts;

    server = ngx_array_push(&pcf->servers);
    if (server == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(server, sizeof(ngx_http_balance_server_t));

    /* the conninfo is turned into keywords once the block is read */
    server->name = value[1];
    server->weight = 1;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "weight=", 7) == 0) {
            n = ngx_atoi(value[i].data + 7, value[i].len - 7);

            if (n == NGX_ERROR || n == 0 || n > 1000) {
                goto invalid;
            }

            server->weight = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_connections=", 16) == 0) {
            n = ngx_atoi(value[i].data + 16, value[i].len - 16);

            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            server->max_connections = n;
            continue;
        }

        if (value[i].len == 6 && ngx_strncmp(value[i].data, "backup", 6) == 0) {
            server->backup = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "role=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (s.len == 7 && ngx_strncmp(s.data, "primary", 7) == 0) {
                server->standby = 0;
                continue;
            }

            if (s.len == 7 && ngx_strncmp(s.data, "standby", 7) == 0) {
                server->standby = 1;
                continue;
            }
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"server\" of "
                       "balance_pool \"%V\": weight=1..1000, "
                       "role=primary|standby, max_connections=N or backup "
                       "is expected", &value[i], &pcf->name);
    return NGX_CONF_ERROR;
}


/* max_lag off | time [check=time] */

static char *
ngx_http_balance_pool_max_lag(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf)
{
    ngx_str_t  *value, s;

    value = cf->args->elts;

    if (pcf->max_lag != NGX_CONF_UNSET_MSEC) {
        return ngx_http_balance_pool_duplicate(cf, pcf);
    }

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        if (cf->args->nelts > 2) {
            goto invalid;
        }

        pcf->max_lag = 0;
        pcf->check_interval = 0;
        return NGX_CONF_OK;
    }

    pcf->max_lag = ngx_parse_time(&value[1], 0);

    if (pcf->max_lag == (ngx_msec_t) NGX_ERROR || pcf->max_lag == 0) {
        goto invalid;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "check=", 6) != 0) {
            goto invalid;
        }

        s.data = value[2].data + 6;
        s.len = value[2].len - 6;

        pcf->check_interval = ngx_parse_time(&s, 0);

        if (pcf->check_interval == (ngx_msec_t) NGX_ERROR
            || pcf->check_interval < 10)
        {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"max_lag\" in balance_pool \"%V\": "
                       "\"off\" or a time, then optionally check= and a "
                       "time of at least 10ms, is expected", &pcf->name);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_balance_pool_queue(ngx_conf_t *cf, ngx_http_balance_pool_conf_t *pcf)
{
    ngx_int_t   n;
    ngx_str_t  *value, s;

    value = cf->args->elts;

    if (pcf->queue != NGX_CONF_UNSET_UINT) {
        return ngx_http_balance_pool_duplicate(cf, pcf);
    }

    n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid queue size \"%V\" in balance_pool \"%V\"",
                           &value[1], &pcf->name);
        return NGX_CONF_ERROR;
    }

    pcf->queue = n;

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "timeout=", 8) != 0) {
            goto invalid;
        }

        s.data = value[2].data + 8;
        s.len = value[2].len - 8;

        pcf->queue_timeout = ngx_parse_time(&s, 0);

        if (pcf->queue_timeout == (ngx_msec_t) NGX_ERROR
            || pcf->queue_timeout == 0)
        {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"queue\" of "
                       "balance_pool \"%V\": \"timeout=<time>\" is expected",
                       &value[2], &pcf->name);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_balance_pool_backoff(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf)
{
    ngx_str_t   *value, s;
    ngx_uint_t   i;
    ngx_msec_t   t;

    value = cf->args->elts;

    if (pcf->backoff_min != NGX_CONF_UNSET_MSEC) {
        return ngx_http_balance_pool_duplicate(cf, pcf);
    }

    for (i = 1; i < cf->args->nelts; i++) {
        s = value[i];

        if (i == 2) {
            if (ngx_strncmp(s.data, "max=", 4) != 0) {
                goto invalid;
            }

            s.data += 4;
            s.len -= 4;
        }

        t = ngx_parse_time(&s, 0);
        if (t == (ngx_msec_t) NGX_ERROR || t == 0) {
            goto invalid;
        }

        if (i == 1) {
            pcf->backoff_min = t;

        } else {
            pcf->backoff_max = t;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"backoff\" of balance_pool "
                       "\"%V\": \"backoff <time> [max=<time>]\" is expected",
                       &value[i], &pcf->name);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_balance_pool_table(ngx_conf_t *cf, ngx_http_balance_pool_conf_t *pcf)
{
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (pcf->table.data != NULL) {
        return ngx_http_balance_pool_duplicate(cf, pcf);
    }

    pcf->table = value[1];

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;
            pcf->key = s;

        } else if (ngx_strncmp(value[i].data, "value=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;
            pcf->value = s;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"table\" of "
                               "balance_pool \"%V\": \"key=<column>\" or "
                               "\"value=<column>\" is expected",
                               &value[i], &pcf->name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_balance_pool_finish(ngx_conf_t *cf, ngx_http_balance_pool_conf_t *pcf)
{
    u_char                     *p;
    ngx_str_t                   table, key, value;
    ngx_uint_t                  i;
    ngx_http_balance_server_t  *servers;

    if (pcf->servers.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"server\" in balance_pool \"%V\"",
                           &pcf->name);
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_uint_value(pcf->connections, 4);
    ngx_conf_init_uint_value(pcf->queue, 1024);
    ngx_conf_init_msec_value(pcf->queue_timeout, 1000);
    ngx_conf_init_msec_value(pcf->connect_timeout, 3000);
    ngx_conf_init_msec_value(pcf->query_timeout, 2000);
    ngx_conf_init_msec_value(pcf->backoff_min, 100);
    ngx_conf_init_msec_value(pcf->backoff_max, 5000);
    ngx_conf_init_uint_value(pcf->round, 256);
    ngx_conf_init_msec_value(pcf->max_lag, 1000);
    ngx_conf_init_value(pcf->prepared, 1);

    /* twice per bound by default: a standby is caught within 1.5 bounds */
    if (pcf->check_interval == NGX_CONF_UNSET_MSEC) {
        pcf->check_interval = ngx_max(pcf->max_lag / 2, 10);
    }

    if (pcf->backoff_max < pcf->backoff_min) {
        pcf->backoff_max = pcf->backoff_min;
    }

    if (pcf->table.data == NULL) {
        ngx_str_set(&pcf->table, "current_state");
    }

    if (pcf->key.data == NULL) {
        ngx_str_set(&pcf->key, "id");
    }

    if (pcf->value.data == NULL) {
        ngx_str_set(&pcf->value, "balance");
    }

    if (ngx_http_balance_quote(cf, &pcf->table, &table, 1) != NGX_OK
        || ngx_http_balance_quote(cf, &pcf->key, &key, 0) != NGX_OK
        || ngx_http_balance_quote(cf, &pcf->value, &value, 0) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid name in \"table\" of balance_pool "
                           "\"%V\": a table (optionally schema.table) and "
                           "columns made of letters, digits and \"_\" "
                           "are expected", &pcf->name);
        return NGX_CONF_ERROR;
    }

    /*
     * One statement serves one address or a whole round of them: the keys
     * go as a text array, and WITH ORDINALITY keeps the rows in the order
     * of the array, so row i answers key i, NULL for a missing account.
     */

    pcf->prepare.len = sizeof("SELECT t.::text FROM unnest($1::text[]) "
                              "WITH ORDINALITY AS k(key, n) "
                              "LEFT JOIN  t ON t. = k.key ORDER BY k.n")
                       + value.len + table.len + key.len;

    p = ngx_pnalloc(cf->pool, pcf->prepare.len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    pcf->prepare.data = p;
    pcf->prepare.len = ngx_sprintf(p, "SELECT t.%V::text FROM "
                                   "unnest($1::text[]) "
                                   "WITH ORDINALITY AS k(key, n) "
                                   "LEFT JOIN %V t ON t.%V = k.key "
                                   "ORDER BY k.n%Z",
                                   &value, &table, &key)
                       - p - 1;

    servers = pcf->servers.elts;

    for (i = 0; i < pcf->servers.nelts; i++) {
        if (ngx_http_balance_server_init(cf, pcf, &servers[i])
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* quotes "name", or "schema.name" when schema is set, as SQL identifiers */

static ngx_int_t
ngx_http_balance_quote(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *quoted,
    ngx_uint_t schema)
{
    u_char      *p, c;
    ngx_uint_t   i, start, len;

    if (name->len == 0 || name->len > 63 * 2 + 1) {
        return NGX_ERROR;
    }

    len = 0;

    p = ngx_pnalloc(cf->pool, name->len + 4);
    if (p == NULL) {
        return NGX_ERROR;
    }

    quoted->data = p;
    *p++ = '"';
    start = 1;

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (c == '.' && !start && schema) {
            *p++ = '"';
            *p++ = '.';
            *p++ = '"';
            start = 1;
            schema = 0;
            len = 0;
            continue;
        }

        /* PostgreSQL truncates identifiers to 63 bytes: refuse longer */
        if ((c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
             || (!start && c >= '0' && c <= '9'))
            && ++len <= 63)
        {
            *p++ = c;
            start = 0;
            continue;
        }

        return NGX_ERROR;
    }

    if (start) {
        return NGX_ERROR;
    }

    *p++ = '"';
    quoted->len = p - quoted->data;

    return NGX_OK;
}


static char *
ngx_http_balance_server_init(ngx_conf_t *cf, ngx_http_balance_pool_conf_t *pcf,
    ngx_http_balance_server_t *server)
{
    char               *err, *conninfo;
    u_char             *p;
    size_t              n;
    ngx_str_t           addr;
    ngx_uint_t          i, k;
    const char         *host, *hostaddr, *port, *dbname, *options;
    PQconninfoOption   *opts, *o;

    conninfo = (char *) server->name.data;  /* NUL-terminated by the parser */

    opts = PQconninfoParse(conninfo, &err);

    if (opts == NULL) {
        n = err ? ngx_strlen(err) : 0;

        while (n && (err[n - 1] == '\n' || err[n - 1] == ' ')) {
            n--;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid conninfo in \"server\" of balance_pool "
                           "\"%V\": %*s", &pcf->name, n,
                           err ? err : "out of memory");
        if (err) {
            PQfreemem(err);
        }

        return NGX_CONF_ERROR;
    }

    host = NULL;
    hostaddr = NULL;
    port = NULL;
    dbname = NULL;
    options = NULL;
    n = 0;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL) {
            continue;
        }

        n++;

        if (ngx_strcmp(o->keyword, "host") == 0) {
            host = o->val;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = o->val;

        } else if (ngx_strcmp(o->keyword, "port") == 0) {
            port = o->val;

        } else if (ngx_strcmp(o->keyword, "dbname") == 0) {
            dbname = o->val;

        } else if (ngx_strcmp(o->keyword, "options") == 0) {
            options = o->val;
        }
    }

    if ((host && ngx_strchr(host, ',')) || (hostaddr && ngx_strchr(hostaddr, ','))
        || (port && ngx_strchr(port, ',')))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "several hosts in one \"server\" of balance_pool "
                           "\"%V\" are not supported: use one \"server\" "
                           "line each", &pcf->name);
        goto failed;
    }

    /*
     * libpq would resolve a host name with blocking getaddrinfo() in the
     * worker: resolve it here, once, and hand libpq "hostaddr" (keeping
     * "host" for authentication and TLS name checks).
     */

    ngx_str_null(&addr);

    if (host && hostaddr == NULL && host[0] != '/' && host[0] != '@') {
        if (ngx_http_balance_resolve(cf, pcf, host, &addr) != NGX_OK) {
            goto failed;
        }

        n++;
    }

    /* room for hostaddr, options, application_name, gssencmode, the NULL */
    n += 5;

    server->keywords = ngx_pcalloc(cf->pool, n * sizeof(char *));
    server->values = ngx_pcalloc(cf->pool, n * sizeof(char *));
    if (server->keywords == NULL || server->values == NULL) {
        goto failed;
    }

    k = 0;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL
            || ngx_strcmp(o->keyword, "options") == 0
            || ngx_strcmp(o->keyword, "connect_timeout") == 0)
        {
            continue;
        }

        server->keywords[k] = ngx_http_balance_strdup(cf->pool, o->keyword);
        server->values[k] = ngx_http_balance_strdup(cf->pool, o->val);
        if (server->keywords[k] == NULL || server->values[k] == NULL) {
            goto failed;
        }

        k++;
    }

    if (addr.len) {
        server->keywords[k] = "hostaddr";
        server->values[k] = (char *) addr.data;
        k++;
    }

    n = (options ? ngx_strlen(options) + 1 : 0)
        + sizeof("-c statement_timeout=") + NGX_INT_T_LEN;

    p = ngx_pnalloc(cf->pool, n);
    if (p == NULL) {
        goto failed;
    }

    server->keywords[k] = "options";
    server->values[k] = (char *) p;
    k++;

    if (options) {
        p = ngx_sprintf(p, "%s ", options);
    }

    /*
     * The server gives up a little before our timer does: it answers with
     * an error and the connection stays usable; the timer remains for a
     * server that does not answer at all.
     */
    ngx_sprintf(p, "-c statement_timeout=%M%Z",
                ngx_max(pcf->query_timeout - pcf->query_timeout / 10, 1));

    for (i = 0; i < 2; i++) {
        const char  *kw = i ? "gssencmode" : "application_name";

        for (o = opts; o->keyword; o++) {
            if (o->val && ngx_strcmp(o->keyword, kw) == 0) {
                break;
            }
        }

        if (o->keyword == NULL) {
            /* GSS negotiation may call into Kerberos: off unless asked */
            server->keywords[k] = kw;
            server->values[k] = i ? "disable" : "nginx balance";
            k++;
        }
    }

    /* a name for logs, without user or password */
    n = 64 + (host ? ngx_strlen(host) : 0) + (port ? ngx_strlen(port) : 0)
        + (dbname ? ngx_strlen(dbname) : 0)
        + (hostaddr ? ngx_strlen(hostaddr) : 0);

    p = ngx_pnalloc(cf->pool, n);
    if (p == NULL) {
        goto failed;
    }

    server->name.data = p;
    server->name.len = ngx_snprintf(p, n, "%s:%s/%s",
                                    hostaddr ? hostaddr
                                             : (host ? host : "local"),
                                    port ? port : "5432",
                                    dbname ? dbname : "-")
                       - p;

    PQconninfoFree(opts);

    return NGX_CONF_OK;

failed:

    PQconninfoFree(opts);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_balance_resolve(ngx_conf_t *cf, ngx_http_balance_pool_conf_t *pcf,
    const char *host, ngx_str_t *addr)
{
    u_char     *p;
    size_t      len;
    ngx_url_t   u;

    ngx_memzero(&u, sizeof(ngx_url_t));

    len = ngx_strlen(host);

    if (ngx_strchr(host, ':')) {
        /* an IPv6 literal: ngx_parse_url() wants it in brackets */
        p = ngx_pnalloc(cf->pool, len + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        u.url.data = p;
        *p++ = '[';
        p = ngx_cpymem(p, host, len);
        *p = ']';
        u.url.len = len + 2;

    } else {
        u.url.data = (u_char *) host;
        u.url.len = len;
    }

    u.default_port = 5432;
    u.no_port = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host \"%s\" in \"server\" of balance_pool "
                           "\"%V\": %s", host, &pcf->name,
                           u.err ? u.err : "cannot be resolved");
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    addr->data = p;
    addr->len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, p,
                              NGX_SOCKADDR_STRLEN, 0);
    p[addr->len] = '\0';

    if (u.naddrs > 1) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "host \"%s\" in \"server\" of balance_pool "
                           "\"%V\" resolves to several addresses, using %V",
                           host, &pcf->name, addr);
    }

    return NGX_OK;
}


/*
 * Warns when this host's workers could open more connections to a server
 * than the operator declared it accepts from this host (max_connections=):
 * every worker opens "connections" to each server of every pool naming it,
 * and during a reload the old workers keep theirs until they exit.  Run
 * after the http block, when worker_processes is known (unless it comes
 * after the block: then the default of 1 is assumed).
 */

void
ngx_http_balance_budget(ngx_conf_t *cf, ngx_http_balance_main_conf_t *bmcf)
{
    ngx_uint_t                      i, j, workers, need;
    ngx_core_conf_t                *ccf;
    ngx_http_balance_server_t      *server, *first;
    ngx_http_balance_pool_conf_t  **pools;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    workers = (ccf->worker_processes == NGX_CONF_UNSET) ? 1
                                             : (ngx_uint_t) ccf->worker_processes;

    pools = bmcf->pools.elts;

    for (i = 0; i < bmcf->pools.nelts; i++) {
        server = pools[i]->servers.elts;

        for (j = 0; j < pools[i]->servers.nelts; j++) {
            if (server[j].max_connections == 0) {
                continue;
            }

            need = workers * ngx_http_balance_budget_need(bmcf,
                                                          &server[j].name,
                                                          &first);

            /* pools sharing a server: one warning, at the first of them */
            if (&server[j] != first) {
                continue;
            }

            if (need > server[j].max_connections) {
                ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                              "balance: %ui worker processes may open %ui "
                              "connections to server %V, over its "
                              "max_connections=%ui, in %s:%ui", workers,
                              need, &server[j].name,
                              server[j].max_connections, pools[i]->file,
                              pools[i]->line);

            } else if (2 * need > server[j].max_connections) {
                ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                              "balance: a reload may briefly open %ui "
                              "connections to server %V (old and new "
                              "workers), over its max_connections=%ui, "
                              "in %s:%ui", 2 * need, &server[j].name,
                              server[j].max_connections, pools[i]->file,
                              pools[i]->line);
            }
        }
    }
}


/* connections one worker opens to a server over all pools */

static ngx_uint_t
ngx_http_balance_budget_need(ngx_http_balance_main_conf_t *bmcf,
    ngx_str_t *name, ngx_http_balance_server_t **first)
{
    ngx_uint_t                      i, j, n;
    ngx_http_balance_server_t      *server;
    ngx_http_balance_pool_conf_t  **pools;

    n = 0;
    *first = NULL;
    pools = bmcf->pools.elts;

    for (i = 0; i < bmcf->pools.nelts; i++) {
        server = pools[i]->servers.elts;

        for (j = 0; j < pools[i]->servers.nelts; j++) {
            if (server[j].name.len != name->len
                || ngx_strncmp(server[j].name.data, name->data, name->len)
                   != 0)
            {
                continue;
            }

            if (*first == NULL && server[j].max_connections) {
                *first = &server[j];
            }

            n += pools[i]->connections;
        }
    }

    return n;
}


static char *
ngx_http_balance_pool_duplicate(ngx_conf_t *cf,
    ngx_http_balance_pool_conf_t *pcf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" is duplicate in balance_pool \"%V\"",
                       &value[0], &pcf->name);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_balance_strdup(ngx_pool_t *pool, const char *s)
{
    char    *p;
    size_t   len;

    len = ngx_strlen(s) + 1;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);

    return p;
}
