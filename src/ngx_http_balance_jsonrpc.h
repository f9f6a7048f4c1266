
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#ifndef _NGX_HTTP_BALANCE_JSONRPC_H_INCLUDED_
#define _NGX_HTTP_BALANCE_JSONRPC_H_INCLUDED_


/*
 * The JSON-RPC 2.0 envelope: parsing a body into calls and rendering the
 * answer.  Plain C over jansson, with no nginx types, so that the envelope
 * rules can be unit-tested alone; memory comes from the caller's allocator
 * (the request pool inside nginx).
 */


#include <sys/types.h>
#include <stddef.h>
#include <jansson.h>

#include "ngx_http_balance_address.h"
#include "ngx_http_balance_quantity.h"


#define NGX_HTTP_BALANCE_RPC_PARSE_ERROR       -32700
#define NGX_HTTP_BALANCE_RPC_INVALID_REQUEST   -32600
#define NGX_HTTP_BALANCE_RPC_METHOD_NOT_FOUND  -32601
#define NGX_HTTP_BALANCE_RPC_INVALID_PARAMS    -32602
#define NGX_HTTP_BALANCE_RPC_INTERNAL_ERROR    -32603
#define NGX_HTTP_BALANCE_RPC_LIMIT_EXCEEDED    -32005
#define NGX_HTTP_BALANCE_RPC_NOT_ALLOWED       -32001


/* what ngx_http_balance_rpc_parse() decided */
#define NGX_HTTP_BALANCE_RPC_OK                0   /* calls are ready */
#define NGX_HTTP_BALANCE_RPC_REJECT            1   /* whole request: 400 */
#define NGX_HTTP_BALANCE_RPC_FALLBACK          2   /* another method seen */
#define NGX_HTTP_BALANCE_RPC_DENY              3   /* a denied method: 403 */
#define NGX_HTTP_BALANCE_RPC_NOMEM            -1


typedef enum {
    NGX_HTTP_BALANCE_CALL_ERROR = 0,
    NGX_HTTP_BALANCE_CALL_BALANCE,
    NGX_HTTP_BALANCE_CALL_RESULT
} ngx_http_balance_call_type_e;


/* the method a call named, for counters and logs */
#define NGX_HTTP_BALANCE_CALL_GET_BALANCE      0
#define NGX_HTTP_BALANCE_CALL_PING             1
#define NGX_HTTP_BALANCE_CALL_CHAIN_ID         2
#define NGX_HTTP_BALANCE_CALL_NET_VERSION      3
#define NGX_HTTP_BALANCE_CALL_OTHER            4


typedef void *(*ngx_http_balance_rpc_alloc_pt)(void *data, size_t size);


typedef struct {
    ngx_http_balance_rpc_alloc_pt  alloc;
    void                          *alloc_data;

    size_t                         max_batch;
    unsigned                       strict:1;
    unsigned                       fallback:1;

    /* EIP-55 forms of recent addresses, or NULL */
    ngx_http_balance_address_cache_t  *cache;

    /* methods refused with -32001 before anything else is done */
    const char                   **deny;
    size_t                         ndeny;

    /* pre-rendered JSON strings, or NULL when no chain id is set */
    const char                    *chain_id;
    const char                    *net_version;
} ngx_http_balance_rpc_conf_t;


typedef struct {
    /* the request's "id" member; NULL for a notification */
    json_t                        *id;
    ngx_http_balance_call_type_e   type;
    unsigned                       method:3;

    /* CALL_ERROR */
    int                            code;
    const char                    *message;
    size_t                         message_len;
    /* appended to the message, JSON-escaped; may be NULL */
    const char                    *detail;
    size_t                         detail_len;

    /* CALL_RESULT: a JSON value rendered as is */
    const char                    *result;
    size_t                         result_len;

    /* CALL_BALANCE: lookup key in, hex quantity out */
    u_char                         address[NGX_HTTP_BALANCE_ADDRESS_LEN];
    size_t                         key;
    u_char                         hex[NGX_HTTP_BALANCE_QUANTITY_MAX_LEN];
    size_t                         hex_len;
} ngx_http_balance_call_t;


typedef struct {
    json_t                        *root;

    ngx_http_balance_call_t       *calls;
    size_t                         ncalls;
    size_t                         nlookups;
    /* the method name when FALLBACK or DENY was decided */
    const char                    *other;

    unsigned                       batch:1;

    /* REJECT, DENY: the single error object, its optional "data" */
    int                            code;
    const char                    *message;
    json_t                        *id;
    size_t                         size;
    size_t                         limit;
} ngx_http_balance_rpc_t;


int ngx_http_balance_rpc_parse(ngx_http_balance_rpc_t *rpc,
    const u_char *body, size_t len, const ngx_http_balance_rpc_conf_t *conf);
void ngx_http_balance_rpc_free(ngx_http_balance_rpc_t *rpc);

/* turns every balance lookup into the given error (database trouble) */
void ngx_http_balance_rpc_fail_lookups(ngx_http_balance_rpc_t *rpc, int code,
    const char *message);

/*
 * Renders the answer into buf when it is large enough; always returns the
 * number of bytes the answer needs (0 when nothing must be sent: only
 * notifications).
 */
size_t ngx_http_balance_rpc_render(ngx_http_balance_rpc_t *rpc, u_char *buf,
    size_t size);

/* the HTTP status that goes with the answer */
int ngx_http_balance_rpc_status(ngx_http_balance_rpc_t *rpc);


#endif /* _NGX_HTTP_BALANCE_JSONRPC_H_INCLUDED_ */
