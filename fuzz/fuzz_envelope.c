
/*
 * Copyright (C) ngx_http_balance_module authors
 */


/*
 * libFuzzer harness: raw bytes as a request body through the JSON-RPC
 * envelope, as the content handler drives it.
 *
 * For each input and each of a few location configurations: parse with an
 * allocator that tracks every block (as the request pool would hold it),
 * give every lookup a fixed balance, measure and render the answer into a
 * buffer of exactly the measured size (and into one a byte too short, which
 * must not be overrun), turn the lookups into database errors and render
 * again, then free everything.  The configurations: the defaults; strict
 * checksums with a chain id and a batch limit of 3; a fallback location; a
 * list of denied methods; an allocator that fails.  Every answer must be
 * JSON that parses back and agrees with the calls: one entry per
 * non-notification call, in order, each with "jsonrpc":"2.0", exactly one
 * of result and error, the call's error code and its id echoed exactly (a
 * whole-request refusal: the right status, code and id).
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_balance_jsonrpc.h"


#define FUZZ_ASSERT(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: assertion failed: %s\n",                  \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)


/* the balance every lookup "finds" */
#define FUZZ_HEX  "0x1bc16d674ec80000"


/* a request pool stand-in: every block is kept on a list until the end */

typedef struct fuzz_block_s  fuzz_block_t;

struct fuzz_block_s {
    fuzz_block_t  *next;
    size_t         size;
    /* the caller's bytes follow, aligned as malloc aligns */
    max_align_t    data[];
};


typedef struct {
    fuzz_block_t  *blocks;
    size_t         nblocks;
    size_t         bytes;
    /* fail the allocation with this index (0: the first), or never: -1 */
    long           fail_at;
} fuzz_pool_t;


static void *
fuzz_alloc(void *data, size_t size)
{
    fuzz_pool_t   *pool = data;
    fuzz_block_t  *b;

    if (pool->fail_at >= 0 && (size_t) pool->fail_at == pool->nblocks) {
        pool->nblocks++;
        return NULL;
    }

    /* a request never needs this much: the envelope lost count somewhere */
    FUZZ_ASSERT(size > 0 && size < ((size_t) 1 << 30));

    b = malloc(sizeof(fuzz_block_t) + size);
    if (b == NULL) {
        abort();
    }

    b->next = pool->blocks;
    b->size = size;
    pool->blocks = b;
    pool->nblocks++;
    pool->bytes += size;

    /* garbage, not zeros: the envelope must not rely on fresh memory */
    memset(b->data, 0xa5, size);

    return b->data;
}


static void
fuzz_pool_free(fuzz_pool_t *pool)
{
    fuzz_block_t  *b, *next;

    for (b = pool->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    pool->blocks = NULL;
}


/* the answer's entry for one call agrees with the call */

static void
fuzz_check_entry(json_t *entry, ngx_http_balance_call_t *call,
    int failed)
{
    json_t  *v, *result, *error;

    FUZZ_ASSERT(json_is_object(entry));

    v = json_object_get(entry, "jsonrpc");
    FUZZ_ASSERT(json_is_string(v) && strcmp(json_string_value(v), "2.0") == 0);

    /* the id is echoed exactly (a real id comes back as the same double) */
    v = json_object_get(entry, "id");
    FUZZ_ASSERT(v != NULL);
    FUZZ_ASSERT(json_equal(v, call->id));

    result = json_object_get(entry, "result");
    error = json_object_get(entry, "error");
    FUZZ_ASSERT((result == NULL) != (error == NULL));
    FUZZ_ASSERT(json_object_size(entry) == 3);

    switch (call->type) {

    case NGX_HTTP_BALANCE_CALL_BALANCE:
        FUZZ_ASSERT(!failed);
        FUZZ_ASSERT(json_is_string(result));
        FUZZ_ASSERT(strcmp(json_string_value(result), FUZZ_HEX) == 0);
        break;

    case NGX_HTTP_BALANCE_CALL_RESULT:
        FUZZ_ASSERT(result != NULL);
        break;

    default:
        FUZZ_ASSERT(json_is_object(error));
        v = json_object_get(error, "code");
        FUZZ_ASSERT(json_is_integer(v) && json_integer_value(v) == call->code);
        v = json_object_get(error, "message");
        FUZZ_ASSERT(json_is_string(v));
        FUZZ_ASSERT(json_string_length(v)
                    == call->message_len + (call->detail ? call->detail_len
                                                         : 0));
        FUZZ_ASSERT(memcmp(json_string_value(v), call->message,
                           call->message_len) == 0);
        if (call->detail != NULL) {
            FUZZ_ASSERT(memcmp(json_string_value(v) + call->message_len,
                               call->detail, call->detail_len) == 0);
        }
        break;
    }
}


/* renders the answer as the handler does and checks it */

static void
fuzz_render(ngx_http_balance_rpc_t *rpc, int failed)
{
    int            status;
    size_t         n, m, i, k, answered;
    u_char        *buf;
    json_t        *root, *v;
    json_error_t   err;

    n = ngx_http_balance_rpc_render(rpc, NULL, 0);
    status = ngx_http_balance_rpc_status(rpc);

    answered = 0;
    for (i = 0; i < rpc->ncalls; i++) {
        if (rpc->calls[i].id != NULL) {
            answered++;
        }
    }

    if (rpc->code == NGX_HTTP_BALANCE_RPC_NOT_ALLOWED) {
        FUZZ_ASSERT(status == 403 && n > 0);

    } else if (rpc->code != 0) {
        FUZZ_ASSERT(status == 400 && n > 0);

    } else if (answered == 0) {
        FUZZ_ASSERT(status == 204 && n == 0);
        return;

    } else {
        FUZZ_ASSERT(status == 200 && n > 0);
    }

    /* a buffer a byte too short: nothing may be written past its end */

    buf = malloc(n);
    if (buf == NULL) {
        abort();
    }

    m = ngx_http_balance_rpc_render(rpc, buf, n - 1);
    FUZZ_ASSERT(m == n);

    m = ngx_http_balance_rpc_render(rpc, buf, n);
    FUZZ_ASSERT(m == n);

    root = json_loadb((const char *) buf, n, JSON_ALLOW_NUL, &err);

    if (root == NULL) {
        fprintf(stderr, "answer is not JSON (%s): %.*s\n", err.text,
                (int) n, buf);
        abort();
    }

    free(buf);

    if (rpc->code != 0) {
        FUZZ_ASSERT(json_is_object(root));
        v = json_object_get(root, "error");
        FUZZ_ASSERT(json_is_object(v));
        v = json_object_get(v, "code");
        FUZZ_ASSERT(json_is_integer(v) && json_integer_value(v) == rpc->code);
        v = json_object_get(root, "id");
        FUZZ_ASSERT(v != NULL);
        FUZZ_ASSERT(rpc->id != NULL ? json_equal(v, rpc->id) : json_is_null(v));
        json_decref(root);
        return;
    }

    if (!rpc->batch) {
        FUZZ_ASSERT(rpc->ncalls == 1);
        fuzz_check_entry(root, &rpc->calls[0], failed);
        json_decref(root);
        return;
    }

    FUZZ_ASSERT(json_is_array(root));
    FUZZ_ASSERT(json_array_size(root) == answered);

    k = 0;
    for (i = 0; i < rpc->ncalls; i++) {
        if (rpc->calls[i].id != NULL) {
            fuzz_check_entry(json_array_get(root, k++), &rpc->calls[i],
                             failed);
        }
    }

    json_decref(root);
}


static void
fuzz_one(const uint8_t *data, size_t size, ngx_http_balance_rpc_conf_t *conf,
    long fail_at)
{
    int                      rc;
    size_t                   i, nlookups;
    fuzz_pool_t              pool;
    ngx_http_balance_rpc_t   rpc;
    ngx_http_balance_call_t *call;

    memset(&pool, 0, sizeof(fuzz_pool_t));
    pool.fail_at = fail_at;

    conf->alloc = fuzz_alloc;
    conf->alloc_data = &pool;

    rc = ngx_http_balance_rpc_parse(&rpc, data, size, conf);

    switch (rc) {

    case NGX_HTTP_BALANCE_RPC_NOMEM:
        FUZZ_ASSERT(fail_at >= 0);
        goto done;

    case NGX_HTTP_BALANCE_RPC_FALLBACK:
        FUZZ_ASSERT(conf->fallback);
        FUZZ_ASSERT(rpc.other != NULL);
        /* the handler hands the body on and renders nothing */
        goto done;

    case NGX_HTTP_BALANCE_RPC_REJECT:
        FUZZ_ASSERT(rpc.code != 0);
        FUZZ_ASSERT(rpc.ncalls == 0);
        FUZZ_ASSERT(rpc.id == NULL);
        fuzz_render(&rpc, 0);
        goto done;

    case NGX_HTTP_BALANCE_RPC_DENY:
        /* a listed method anywhere refuses the whole request */
        FUZZ_ASSERT(conf->ndeny > 0);
        FUZZ_ASSERT(rpc.code == NGX_HTTP_BALANCE_RPC_NOT_ALLOWED);
        FUZZ_ASSERT(rpc.other != NULL);
        FUZZ_ASSERT(!rpc.batch || rpc.id == NULL);
        fuzz_render(&rpc, 0);
        goto done;

    case NGX_HTTP_BALANCE_RPC_OK:
        break;

    default:
        FUZZ_ASSERT(0);
    }

    FUZZ_ASSERT(rpc.code == 0);
    FUZZ_ASSERT(rpc.ncalls >= 1);
    FUZZ_ASSERT(rpc.batch || rpc.ncalls == 1);
    FUZZ_ASSERT(rpc.ncalls <= conf->max_batch || !rpc.batch);

    nlookups = 0;

    for (i = 0; i < rpc.ncalls; i++) {
        call = &rpc.calls[i];

        switch (call->type) {

        case NGX_HTTP_BALANCE_CALL_BALANCE:
            /* the lookup key is an EIP-55 address */
            FUZZ_ASSERT(call->method == NGX_HTTP_BALANCE_CALL_GET_BALANCE);
            FUZZ_ASSERT(call->address[0] == '0' && call->address[1] == 'x');
            memcpy(call->hex, FUZZ_HEX, sizeof(FUZZ_HEX) - 1);
            call->hex_len = sizeof(FUZZ_HEX) - 1;
            nlookups++;
            break;

        case NGX_HTTP_BALANCE_CALL_RESULT:
            FUZZ_ASSERT(call->result != NULL && call->result_len > 0);
            break;

        case NGX_HTTP_BALANCE_CALL_ERROR:
            FUZZ_ASSERT(call->code != 0 && call->message != NULL);
            break;

        default:
            FUZZ_ASSERT(0);
        }
    }

    fuzz_render(&rpc, 0);

    ngx_http_balance_rpc_fail_lookups(&rpc,
                                      NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR,
                                      "Internal error");

    for (i = 0; i < rpc.ncalls; i++) {
        FUZZ_ASSERT(rpc.calls[i].type != NGX_HTTP_BALANCE_CALL_BALANCE);
    }

    fuzz_render(&rpc, 1);

    (void) nlookups;

done:

    ngx_http_balance_rpc_free(&rpc);
    fuzz_pool_free(&pool);
}


static const char  *fuzz_deny[] = {
    "eth_sendRawTransaction", "eth_chainId", "net_version"
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_http_balance_rpc_conf_t  conf;

    /* the defaults: batches of 100, no chain id, no fallback */

    memset(&conf, 0, sizeof(conf));
    conf.max_batch = 100;
    fuzz_one(data, size, &conf, -1);

    /* strict checksums, a chain id, a small batch limit */

    memset(&conf, 0, sizeof(conf));
    conf.max_batch = 3;
    conf.strict = 1;
    conf.chain_id = "\"0xf22f\"";
    conf.net_version = "\"61999\"";
    fuzz_one(data, size, &conf, -1);

    /* a fallback location: other methods leave the envelope */

    memset(&conf, 0, sizeof(conf));
    conf.max_batch = 100;
    conf.fallback = 1;
    fuzz_one(data, size, &conf, -1);

    /* methods refused before anything else is done */

    memset(&conf, 0, sizeof(conf));
    conf.max_batch = 100;
    conf.deny = fuzz_deny;
    conf.ndeny = sizeof(fuzz_deny) / sizeof(fuzz_deny[0]);
    fuzz_one(data, size, &conf, -1);

    /* the pool runs dry at some allocation: no leak, no crash */

    memset(&conf, 0, sizeof(conf));
    conf.max_batch = 100;
    fuzz_one(data, size, &conf, (long) (size % 3));

    return 0;
}
