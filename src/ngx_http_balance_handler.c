
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_balance_module.h"


static void ngx_http_balance_body_handler(ngx_http_request_t *r);
static u_char *ngx_http_balance_read_body(ngx_http_request_t *r,
    size_t *len);
static void *ngx_http_balance_alloc(void *data, size_t size);
static void ngx_http_balance_free_json(void *data);
static void *ngx_http_balance_json_malloc(size_t size);
static void ngx_http_balance_json_free(void *p);
static void ngx_http_balance_cleanup(void *data);
static void ngx_http_balance_fallback(ngx_http_balance_ctx_t *ctx,
    ngx_str_t *name);
static void ngx_http_balance_account(ngx_http_balance_ctx_t *ctx,
    ngx_http_balance_outcome_e outcome);
static ngx_int_t ngx_http_balance_not_allowed(ngx_http_request_t *r);
static ngx_int_t ngx_http_balance_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);


/*
 * The pool jansson allocates from, set only for the length of a parse: the
 * worker is single-threaded, and outside a parse (another user of jansson
 * in the process) allocations go to malloc() as before.
 */
static ngx_pool_t  *ngx_http_balance_json_pool;


static u_char  ngx_http_balance_405[] =
    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,"
    "\"message\":\"Invalid Request: use POST\"},\"id\":null}";


ngx_int_t
ngx_http_balance_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_balance_ctx_t       *ctx;
    ngx_http_balance_loc_conf_t  *blcf;

    if (!(r->method & NGX_HTTP_POST)) {
        blcf = ngx_http_get_module_loc_conf(r, ngx_http_balance_module);

        if (blcf->fallback.len == 0) {
            return ngx_http_balance_not_allowed(r);
        }

        /* not JSON-RPC for us (a CORS preflight, a health check) */
        ctx = ngx_http_balance_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_balance_account(ctx, NGX_HTTP_BALANCE_OUTCOME_FALLBACK);

        return ngx_http_named_location(r, &blcf->fallback);
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_balance_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_balance_not_allowed(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_table_elt_t         *h;
    ngx_http_balance_ctx_t  *ctx;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    ngx_str_set(&h->value, "POST");

    ctx = ngx_http_balance_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_balance_account(ctx, NGX_HTTP_BALANCE_OUTCOME_NOT_ALLOWED);

    return ngx_http_balance_send(r, NGX_HTTP_NOT_ALLOWED, ngx_http_balance_405,
                                 sizeof(ngx_http_balance_405) - 1);
}


/*
 * The request's context, also after ngx_http_named_location() cleared the
 * module contexts for the fallback: it is found again through the pool
 * cleanup that frees its JSON, as ngx_lua finds its own.
 */

ngx_http_balance_ctx_t *
ngx_http_balance_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_balance_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_balance_module);

    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler != ngx_http_balance_free_json) {
            continue;
        }

        ctx = (ngx_http_balance_ctx_t *)
                  ((u_char *) cln->data
                   - offsetof(ngx_http_balance_ctx_t, rpc));

        /* subrequests share the pool: only this request's own */
        if (ctx->request == r) {
            ngx_http_set_ctx(r, ctx, ngx_http_balance_module);
            return ctx;
        }
    }

    return NULL;
}


ngx_http_balance_ctx_t *
ngx_http_balance_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_balance_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_balance_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    /* jansson's tree, once there is one, lives as long as the request */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_balance_free_json;
    cln->data = &ctx->rpc;

    ctx->request = r;
    ctx->start = ngx_http_balance_usec();
    ngx_http_set_ctx(r, ctx, ngx_http_balance_module);

    return ctx;
}


static void
ngx_http_balance_body_handler(ngx_http_request_t *r)
{
    int                            rc;
    u_char                        *body;
    size_t                         len, i;
    ngx_int_t                      lrc;
    ngx_http_cleanup_t            *hcln;
    ngx_http_balance_ctx_t        *ctx;
    ngx_http_balance_call_t       *call;
    ngx_http_balance_rpc_conf_t    rcf;
    ngx_http_balance_loc_conf_t   *blcf;
    ngx_http_balance_main_conf_t  *bmcf;

    blcf = ngx_http_get_module_loc_conf(r, ngx_http_balance_module);
    bmcf = ngx_http_get_module_main_conf(r, ngx_http_balance_module);

    body = ngx_http_balance_read_body(r, &len);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx = ngx_http_balance_create_ctx(r);
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memzero(&rcf, sizeof(ngx_http_balance_rpc_conf_t));

    rcf.alloc = ngx_http_balance_alloc;
    rcf.cache = bmcf->address_cache;
    rcf.alloc_data = r->pool;
    rcf.max_batch = blcf->max_batch;
    rcf.strict = blcf->strict ? 1 : 0;
    rcf.fallback = blcf->fallback.len ? 1 : 0;
    rcf.deny = blcf->deny ? blcf->deny->elts : NULL;
    rcf.ndeny = blcf->deny ? blcf->deny->nelts : 0;
    rcf.chain_id = blcf->chain_id.len ? (char *) blcf->chain_id.data : NULL;
    rcf.net_version = blcf->net_version.len ? (char *) blcf->net_version.data
                                            : NULL;

    /* jansson's nodes come from the request pool while it parses */
    ngx_http_balance_json_pool = r->pool;

    rc = ngx_http_balance_rpc_parse(&ctx->rpc, body, len, &rcf);

    ngx_http_balance_json_pool = NULL;

    switch (rc) {

    case NGX_HTTP_BALANCE_RPC_NOMEM:
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;

    case NGX_HTTP_BALANCE_RPC_REJECT:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "balance: client sent an invalid JSON-RPC body: %s",
                      ctx->rpc.message);

        if (blcf->fallback_invalid && blcf->fallback.len) {
            ngx_http_balance_fallback(ctx, &blcf->fallback);
            return;
        }

        ngx_http_balance_finish(ctx, 0, 0);
        return;

    case NGX_HTTP_BALANCE_RPC_DENY:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "balance: client called restricted method \"%s\"",
                      ctx->rpc.other);
        ngx_http_balance_finish(ctx, 0, 0);
        return;

    case NGX_HTTP_BALANCE_RPC_FALLBACK:
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "balance: method \"%s\" goes to the fallback",
                       ctx->rpc.other);
        ngx_http_balance_fallback(ctx, &blcf->fallback);
        return;
    }

    for (i = 0; i < ctx->rpc.ncalls; i++) {
        call = &ctx->rpc.calls[i];

        if (call->type != NGX_HTTP_BALANCE_CALL_BALANCE) {
            continue;
        }

        if (call->id == NULL) {
            /* a notification gets no answer: no need to look it up */
            call->type = NGX_HTTP_BALANCE_CALL_RESULT;
            continue;
        }

        ctx->rpc.nlookups++;
    }

    if (ctx->rpc.nlookups == 0) {
        ngx_http_balance_finish(ctx, 0, 0);
        return;
    }

    /*
     * Waiting for PostgreSQL: notice a client that goes away, and detach
     * from the pool when the request ends early, as upstream does.
     */

    hcln = ngx_http_cleanup_add(r, 0);
    if (hcln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    hcln->handler = ngx_http_balance_cleanup;
    hcln->data = ctx;

    r->read_event_handler = ngx_http_test_reading;

    lrc = ngx_http_balance_pool_lookup(blcf->pool->rt, ctx);

    switch (lrc) {

    case NGX_OK:
        return;

    case NGX_BUSY:
        ngx_http_balance_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                NGX_HTTP_BALANCE_RPC_LIMIT_EXCEEDED);
        return;

    case NGX_DECLINED:
        ngx_http_balance_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR);
        return;

    default:
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
}


/* the body as one buffer, whether nginx kept it in memory or in a file */

static u_char *
ngx_http_balance_read_body(ngx_http_request_t *r, size_t *len)
{
    u_char       *body, *p;
    size_t        size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    *len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return (u_char *) "";
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        *len = cl->buf->last - cl->buf->pos;

        /* an empty body may come as a buffer without memory */
        return *len ? cl->buf->pos : (u_char *) "";
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    body = ngx_pnalloc(r->pool, size ? size : 1);
    if (body == NULL) {
        return NULL;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);

            if (n != b->file_last - b->file_pos) {
                ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                              "balance: cannot read the request body from "
                              "\"%V\"", &b->file->name);
                return NULL;
            }

            p += n;
            continue;
        }

        if (b->last != b->pos) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    *len = p - body;

    return body;
}


/*
 * Answers the request: the rendered JSON-RPC body, with every lookup turned
 * into error "code" first when one is given (the database could not help).
 */

void
ngx_http_balance_finish(ngx_http_balance_ctx_t *ctx, ngx_uint_t status,
    ngx_int_t code)
{
    u_char                      *body;
    size_t                       len;
    ngx_int_t                    rc;
    ngx_table_elt_t             *h;
    ngx_http_request_t          *r;
    ngx_http_balance_outcome_e   outcome;

    r = ctx->request;

    if (ctx->db_start) {
        ctx->db_end = ngx_http_balance_usec();
    }

    if (code) {
        ngx_http_balance_rpc_fail_lookups(&ctx->rpc, code,
                          code == NGX_HTTP_BALANCE_RPC_LIMIT_EXCEEDED
                          ? "Limit exceeded: too many requests are waiting "
                            "for the database"
                          : "Internal error");
    }

    if (status == 0) {
        status = ngx_http_balance_rpc_status(&ctx->rpc);
    }

    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        outcome = NGX_HTTP_BALANCE_OUTCOME_INVALID;
        break;

    case NGX_HTTP_FORBIDDEN:
        outcome = NGX_HTTP_BALANCE_OUTCOME_DENIED;
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        outcome = (code == NGX_HTTP_BALANCE_RPC_LIMIT_EXCEEDED)
                  ? NGX_HTTP_BALANCE_OUTCOME_OVERLOADED
                  : NGX_HTTP_BALANCE_OUTCOME_UNAVAILABLE;
        break;

    default:
        outcome = NGX_HTTP_BALANCE_OUTCOME_OK;
    }

    ngx_http_balance_account(ctx, outcome);

    len = ngx_http_balance_rpc_render(&ctx->rpc, NULL, 0);
    body = NULL;

    if (len) {
        body = ngx_pnalloc(r->pool, len);
        if (body == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        (void) ngx_http_balance_rpc_render(&ctx->rpc, body, len);
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "1");
    }

    rc = ngx_http_balance_send(r, status, body, len);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_balance_send(ngx_http_request_t *r, ngx_uint_t status, u_char *body,
    size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;

    if (len == 0) {
        /* 204: only notifications were sent */
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* hands the request, its body intact, to the fallback named location */

static void
ngx_http_balance_fallback(ngx_http_balance_ctx_t *ctx, ngx_str_t *name)
{
    ngx_http_balance_account(ctx, NGX_HTTP_BALANCE_OUTCOME_FALLBACK);

    ngx_http_finalize_request(ctx->request,
                              ngx_http_named_location(ctx->request, name));
}


/* the shared counters and $balance_outcome */

static void
ngx_http_balance_account(ngx_http_balance_ctx_t *ctx,
    ngx_http_balance_outcome_e outcome)
{
    size_t                         i;
    ngx_http_balance_call_t       *call;
    ngx_http_balance_stats_t      *st;
    ngx_http_balance_main_conf_t  *bmcf;

    ctx->state = NGX_HTTP_BALANCE_CTX_DONE;
    ctx->outcome = outcome;

    bmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_balance_module);

    if (bmcf->stats_zone == NULL) {
        return;
    }

    st = bmcf->stats_zone->data;

    ngx_http_balance_stats_request(st, outcome,
                                   ctx->rpc.batch ? ctx->rpc.ncalls : 0,
                                   ngx_http_balance_usec() - ctx->start);

    /* calls count when they were answered one by one */
    if (outcome == NGX_HTTP_BALANCE_OUTCOME_FALLBACK
        || outcome == NGX_HTTP_BALANCE_OUTCOME_DENIED
        || outcome == NGX_HTTP_BALANCE_OUTCOME_GONE)
    {
        return;
    }

    for (i = 0; i < ctx->rpc.ncalls; i++) {
        call = &ctx->rpc.calls[i];
        ngx_http_balance_stats_add(
                  st->calls[call->method][call->type != NGX_HTTP_BALANCE_CALL_ERROR],
                  1);
    }
}


static void *
ngx_http_balance_alloc(void *data, size_t size)
{
    return ngx_palloc((ngx_pool_t *) data, size);
}


static void
ngx_http_balance_free_json(void *data)
{
    ngx_http_balance_rpc_free(data);
}


/* the request ends before its lookups were answered: the client left */

static void
ngx_http_balance_cleanup(void *data)
{
    ngx_http_balance_ctx_t  *ctx = data;

    if (ctx->state == NGX_HTTP_BALANCE_CTX_WAITING
        || ctx->state == NGX_HTTP_BALANCE_CTX_QUERYING)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "balance: request gone before its answer");

        ngx_http_balance_pool_detach(ctx);
        ngx_http_balance_account(ctx, NGX_HTTP_BALANCE_OUTCOME_GONE);
    }
}


/* jansson's allocator: each block says where it came from */

#define NGX_HTTP_BALANCE_JSON_HEADER  16


void
ngx_http_balance_json_init(void)
{
    json_set_alloc_funcs(ngx_http_balance_json_malloc,
                         ngx_http_balance_json_free);
}


static void *
ngx_http_balance_json_malloc(size_t size)
{
    u_char  *p;

    if (ngx_http_balance_json_pool) {
        p = ngx_palloc(ngx_http_balance_json_pool,
                       size + NGX_HTTP_BALANCE_JSON_HEADER);
        if (p == NULL) {
            return NULL;
        }

        /* freed with the request pool */
        *(uintptr_t *) p = 1;

    } else {
        p = malloc(size + NGX_HTTP_BALANCE_JSON_HEADER);
        if (p == NULL) {
            return NULL;
        }

        *(uintptr_t *) p = 0;
    }

    return p + NGX_HTTP_BALANCE_JSON_HEADER;
}


static void
ngx_http_balance_json_free(void *p)
{
    u_char  *block;

    if (p == NULL) {
        return;
    }

    block = (u_char *) p - NGX_HTTP_BALANCE_JSON_HEADER;

    if (*(uintptr_t *) block == 0) {
        free(block);
    }
}
