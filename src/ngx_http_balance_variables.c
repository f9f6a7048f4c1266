
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * $balance_method    the JSON-RPC method, "batch", or empty
 * $balance_outcome   ok, invalid, denied, method_not_allowed, unavailable,
 *                    overloaded, fallback or gone
 * $balance_db_time   seconds the request's lookups spent in the pool
 *                    (waiting and the statement), with microseconds
 * $balance_server    the server that answered the lookups, as the status
 *                    page names it ("host:port/dbname"), or empty
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_balance_module.h"


static ngx_int_t ngx_http_balance_method_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_balance_outcome_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_balance_db_time_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_balance_server_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_balance_vars[] = {

    { ngx_string("balance_method"), NULL,
      ngx_http_balance_method_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("balance_outcome"), NULL,
      ngx_http_balance_outcome_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("balance_db_time"), NULL,
      ngx_http_balance_db_time_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("balance_server"), NULL,
      ngx_http_balance_server_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_balance_outcomes[] = {
    ngx_string("ok"),
    ngx_string("invalid"),
    ngx_string("denied"),
    ngx_string("method_not_allowed"),
    ngx_string("unavailable"),
    ngx_string("overloaded"),
    ngx_string("fallback"),
    ngx_string("gone")
};


ngx_int_t
ngx_http_balance_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_balance_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* a monotonic clock in microseconds, for durations */

uint64_t
ngx_http_balance_usec(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static ngx_int_t
ngx_http_balance_method_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    json_t                  *method;
    ngx_http_balance_ctx_t  *ctx;

    ctx = ngx_http_balance_get_ctx(r);

    if (ctx == NULL || ctx->rpc.root == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ctx->rpc.batch) {
        v->data = (u_char *) "batch";
        v->len = sizeof("batch") - 1;

    } else {
        method = json_object_get(ctx->rpc.root, "method");

        if (!json_is_string(method)) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = (u_char *) json_string_value(method);
        v->len = json_string_length(method);
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_balance_outcome_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_balance_ctx_t  *ctx;

    ctx = ngx_http_balance_get_ctx(r);

    if (ctx == NULL || ctx->state != NGX_HTTP_BALANCE_CTX_DONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ngx_http_balance_outcomes[ctx->outcome].data;
    v->len = ngx_http_balance_outcomes[ctx->outcome].len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_balance_db_time_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    uint64_t                 usec;
    ngx_http_balance_ctx_t  *ctx;

    ctx = ngx_http_balance_get_ctx(r);

    if (ctx == NULL || ctx->db_start == 0 || ctx->db_end == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 8);
    if (p == NULL) {
        return NGX_ERROR;
    }

    usec = ctx->db_end - ctx->db_start;

    v->data = p;
    v->len = ngx_sprintf(p, "%uL.%06uL", usec / 1000000, usec % 1000000) - p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_balance_server_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_balance_ctx_t  *ctx;

    ctx = ngx_http_balance_get_ctx(r);

    if (ctx == NULL || ctx->server == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ctx->server->name.data;
    v->len = ctx->server->name.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
