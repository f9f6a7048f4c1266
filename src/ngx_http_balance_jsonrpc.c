
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "ngx_http_balance_jsonrpc.h"


/* a writer that counts what does not fit, so one function measures too */
typedef struct {
    u_char       *pos;
    u_char       *end;
    size_t        size;
} ngx_http_balance_out_t;


static int ngx_http_balance_rpc_call(ngx_http_balance_rpc_t *rpc,
    ngx_http_balance_call_t *call, json_t *req,
    const ngx_http_balance_rpc_conf_t *conf);
static int ngx_http_balance_rpc_balance(ngx_http_balance_call_t *call,
    json_t *params, const ngx_http_balance_rpc_conf_t *conf);
static void ngx_http_balance_rpc_error(ngx_http_balance_call_t *call,
    int code, const char *message);
static int ngx_http_balance_rpc_bad_address(ngx_http_balance_call_t *call,
    json_t *value, const ngx_http_balance_rpc_conf_t *conf);
static int ngx_http_balance_rpc_valid_id(json_t *id);
static size_t ngx_http_balance_rpc_real(double v, char *buf, size_t size);
static void ngx_http_balance_out(ngx_http_balance_out_t *out,
    const void *data, size_t len);
static void ngx_http_balance_out_escaped(ngx_http_balance_out_t *out,
    const u_char *s, size_t len);
static void ngx_http_balance_out_id(ngx_http_balance_out_t *out, json_t *id);
static void ngx_http_balance_out_call(ngx_http_balance_out_t *out,
    ngx_http_balance_call_t *call);
static void ngx_http_balance_out_reject(ngx_http_balance_out_t *out,
    ngx_http_balance_rpc_t *rpc);


#define ngx_http_balance_out_literal(out, s)                                  \
    ngx_http_balance_out(out, s, sizeof(s) - 1)


int
ngx_http_balance_rpc_parse(ngx_http_balance_rpc_t *rpc, const u_char *body,
    size_t len, const ngx_http_balance_rpc_conf_t *conf)
{
    int           rc, fallback;
    size_t        i, n;
    json_t       *root;
    json_error_t  err;

    memset(rpc, 0, sizeof(ngx_http_balance_rpc_t));

    /*
     * JSON_DECODE_ANY: a scalar body is an Invalid Request, not a parse
     * error; JSON_ALLOW_NUL: "\u0000" inside a string is valid JSON and
     * must reach the address check; jansson rejects invalid UTF-8 itself.
     */
    root = json_loadb((const char *) body, len,
                      JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    if (root == NULL) {
        rpc->code = NGX_HTTP_BALANCE_RPC_PARSE_ERROR;
        rpc->message = "Parse error";
        return NGX_HTTP_BALANCE_RPC_REJECT;
    }

    rpc->root = root;

    if (json_is_array(root)) {
        n = json_array_size(root);
        rpc->batch = 1;

        if (n == 0) {
            rpc->code = NGX_HTTP_BALANCE_RPC_INVALID_REQUEST;
            rpc->message = "Invalid Request";
            return NGX_HTTP_BALANCE_RPC_REJECT;
        }

        if (n > conf->max_batch) {
            rpc->code = NGX_HTTP_BALANCE_RPC_INVALID_REQUEST;
            rpc->message = "Invalid Request";
            rpc->size = n;
            rpc->limit = conf->max_batch;
            return NGX_HTTP_BALANCE_RPC_REJECT;
        }

    } else if (json_is_object(root)) {
        n = 1;

    } else {
        rpc->code = NGX_HTTP_BALANCE_RPC_INVALID_REQUEST;
        rpc->message = "Invalid Request";
        return NGX_HTTP_BALANCE_RPC_REJECT;
    }

    rpc->calls = conf->alloc(conf->alloc_data,
                             n * sizeof(ngx_http_balance_call_t));
    if (rpc->calls == NULL) {
        return NGX_HTTP_BALANCE_RPC_NOMEM;
    }

    memset(rpc->calls, 0, n * sizeof(ngx_http_balance_call_t));
    rpc->ncalls = n;

    fallback = 0;

    for (i = 0; i < n; i++) {
        rc = ngx_http_balance_rpc_call(rpc, &rpc->calls[i],
                                       rpc->batch ? json_array_get(root, i)
                                                  : root,
                                       conf);
        if (rc == NGX_HTTP_BALANCE_RPC_FALLBACK) {
            fallback = 1;

        } else if (rc == NGX_HTTP_BALANCE_RPC_DENY) {
            /* the whole request is refused, a batch with id null */
            rpc->code = NGX_HTTP_BALANCE_RPC_NOT_ALLOWED;
            rpc->message = "Method not allowed: this method is restricted";
            rpc->id = rpc->batch ? NULL : rpc->calls[i].id;
            return rc;

        } else if (rc != NGX_HTTP_BALANCE_RPC_OK) {
            return rc;
        }
    }

    return fallback ? NGX_HTTP_BALANCE_RPC_FALLBACK : NGX_HTTP_BALANCE_RPC_OK;
}


static int
ngx_http_balance_rpc_call(ngx_http_balance_rpc_t *rpc,
    ngx_http_balance_call_t *call, json_t *req,
    const ngx_http_balance_rpc_conf_t *conf)
{
    size_t       i;
    json_t      *id, *version, *method, *params;
    const char  *name;

    call->method = NGX_HTTP_BALANCE_CALL_OTHER;

    if (!json_is_object(req)) {
        call->id = json_null();
        ngx_http_balance_rpc_error(call, NGX_HTTP_BALANCE_RPC_INVALID_REQUEST,
                                   "Invalid Request");
        return NGX_HTTP_BALANCE_RPC_OK;
    }

    id = json_object_get(req, "id");
    method = json_object_get(req, "method");

    /*
     * The policy looks at every object that names a method, valid request
     * or not: a backend may be lenient where this parser is strict.
     */

    if (json_is_string(method)) {
        name = json_string_value(method);

        for (i = 0; i < conf->ndeny; i++) {
            if (strcmp(name, conf->deny[i]) == 0
                && json_string_length(method) == strlen(name))
            {
                call->id = ngx_http_balance_rpc_valid_id(id) ? id : NULL;
                rpc->other = name;
                return NGX_HTTP_BALANCE_RPC_DENY;
            }
        }
    }

    if (id != NULL && !ngx_http_balance_rpc_valid_id(id)) {
        /* an id of the wrong type cannot be echoed: answer with null */
        call->id = json_null();
        ngx_http_balance_rpc_error(call, NGX_HTTP_BALANCE_RPC_INVALID_REQUEST,
                                   "Invalid Request");
        return NGX_HTTP_BALANCE_RPC_OK;
    }

    version = json_object_get(req, "jsonrpc");

    if (version == NULL
        || !json_is_string(version)
        || json_string_length(version) != 3
        || memcmp(json_string_value(version), "2.0", 3) != 0
        || method == NULL
        || !json_is_string(method))
    {
        /* not a valid request, hence not a notification either */
        call->id = id ? id : json_null();
        ngx_http_balance_rpc_error(call, NGX_HTTP_BALANCE_RPC_INVALID_REQUEST,
                                   "Invalid Request");
        return NGX_HTTP_BALANCE_RPC_OK;
    }

    call->id = id;
    name = json_string_value(method);
    params = json_object_get(req, "params");

    if (json_string_length(method) != strlen(name)) {
        /* a method name with a NUL inside matches nothing we know */
        goto other;
    }

    if (strcmp(name, "eth_getBalance") == 0) {
        call->method = NGX_HTTP_BALANCE_CALL_GET_BALANCE;
        return ngx_http_balance_rpc_balance(call, params, conf);
    }

    if (strcmp(name, "ping") == 0) {
        call->method = NGX_HTTP_BALANCE_CALL_PING;
        call->type = NGX_HTTP_BALANCE_CALL_RESULT;
        call->result = "\"OK\"";
        call->result_len = sizeof("\"OK\"") - 1;
        return NGX_HTTP_BALANCE_RPC_OK;
    }

    if (conf->chain_id != NULL && strcmp(name, "eth_chainId") == 0) {
        call->method = NGX_HTTP_BALANCE_CALL_CHAIN_ID;
        call->type = NGX_HTTP_BALANCE_CALL_RESULT;
        call->result = conf->chain_id;
        call->result_len = strlen(conf->chain_id);
        return NGX_HTTP_BALANCE_RPC_OK;
    }

    if (conf->net_version != NULL && strcmp(name, "net_version") == 0) {
        call->method = NGX_HTTP_BALANCE_CALL_NET_VERSION;
        call->type = NGX_HTTP_BALANCE_CALL_RESULT;
        call->result = conf->net_version;
        call->result_len = strlen(conf->net_version);
        return NGX_HTTP_BALANCE_RPC_OK;
    }

other:

    if (conf->fallback) {
        rpc->other = name;
        return NGX_HTTP_BALANCE_RPC_FALLBACK;
    }

    ngx_http_balance_rpc_error(call, NGX_HTTP_BALANCE_RPC_METHOD_NOT_FOUND,
                               "Method not found: ");
    call->detail = name;
    call->detail_len = json_string_length(method);

    return NGX_HTTP_BALANCE_RPC_OK;
}


static int
ngx_http_balance_rpc_balance(ngx_http_balance_call_t *call, json_t *params,
    const ngx_http_balance_rpc_conf_t *conf)
{
    int          rc;
    json_t      *address, *block, *value;
    const char  *key;

    address = NULL;
    block = NULL;

    if (json_is_array(params)) {
        if (json_array_size(params) > 2) {
            goto invalid;
        }

        address = json_array_get(params, 0);
        block = json_array_get(params, 1);

    } else if (json_is_object(params)) {
        json_object_foreach(params, key, value) {
            if (strcmp(key, "account_address") == 0) {
                address = value;

            } else if (strcmp(key, "block_tag") == 0) {
                block = value;

            } else {
                goto invalid;
            }
        }

    } else if (params != NULL) {
        goto invalid;
    }

    if (address == NULL || !json_is_string(address)) {
        return ngx_http_balance_rpc_bad_address(call, address, conf);
    }

    if (block != NULL && !json_is_string(block) && !json_is_object(block)) {
        ngx_http_balance_rpc_error(call, NGX_HTTP_BALANCE_RPC_INVALID_PARAMS,
                                   "Invalid params: the block must be a "
                                   "string or an object");
        return NGX_HTTP_BALANCE_RPC_OK;
    }

    rc = ngx_http_balance_address_parse_cached(
                             (const u_char *) json_string_value(address),
                             json_string_length(address), conf->strict,
                             call->address, conf->cache);

    if (rc != NGX_HTTP_BALANCE_ADDRESS_OK) {
        return ngx_http_balance_rpc_bad_address(call, address, conf);
    }

    call->type = NGX_HTTP_BALANCE_CALL_BALANCE;

    return NGX_HTTP_BALANCE_RPC_OK;

invalid:

    ngx_http_balance_rpc_error(call, NGX_HTTP_BALANCE_RPC_INVALID_PARAMS,
                               "Invalid params");
    return NGX_HTTP_BALANCE_RPC_OK;
}


static int
ngx_http_balance_rpc_bad_address(ngx_http_balance_call_t *call, json_t *value,
    const ngx_http_balance_rpc_conf_t *conf)
{
    char    *p;
    size_t   n;

    ngx_http_balance_rpc_error(call, NGX_HTTP_BALANCE_RPC_INVALID_PARAMS,
                               "Invalid address from_address: ");

    /*
     * Studio formats the value with Python's str(): a string as given,
     * None/True/False for the JSON literals, JSON text for the rest.
     */

    if (value == NULL || json_is_null(value)) {
        call->detail = "None";

    } else if (json_is_true(value)) {
        call->detail = "True";

    } else if (json_is_false(value)) {
        call->detail = "False";

    } else if (json_is_string(value)) {
        call->detail = json_string_value(value);
        call->detail_len = json_string_length(value);
        return NGX_HTTP_BALANCE_RPC_OK;

    } else if (json_is_real(value)) {
        p = conf->alloc(conf->alloc_data, 32);
        if (p == NULL) {
            return NGX_HTTP_BALANCE_RPC_NOMEM;
        }

        call->detail = p;
        call->detail_len = ngx_http_balance_rpc_real(json_real_value(value),
                                                     p, 32);
        return NGX_HTTP_BALANCE_RPC_OK;

    } else {
        n = json_dumpb(value, NULL, 0, JSON_ENCODE_ANY | JSON_COMPACT);
        if (n == 0) {
            return NGX_HTTP_BALANCE_RPC_NOMEM;
        }

        p = conf->alloc(conf->alloc_data, n);
        if (p == NULL) {
            return NGX_HTTP_BALANCE_RPC_NOMEM;
        }

        call->detail = p;
        call->detail_len = json_dumpb(value, p, n,
                                      JSON_ENCODE_ANY | JSON_COMPACT);
        return NGX_HTTP_BALANCE_RPC_OK;
    }

    call->detail_len = strlen(call->detail);

    return NGX_HTTP_BALANCE_RPC_OK;
}


static void
ngx_http_balance_rpc_error(ngx_http_balance_call_t *call, int code,
    const char *message)
{
    call->type = NGX_HTTP_BALANCE_CALL_ERROR;
    call->code = code;
    call->message = message;
    call->message_len = strlen(message);
    call->detail = NULL;
    call->detail_len = 0;
}


static int
ngx_http_balance_rpc_valid_id(json_t *id)
{
    return json_is_string(id) || json_is_number(id) || json_is_null(id);
}


void
ngx_http_balance_rpc_free(ngx_http_balance_rpc_t *rpc)
{
    if (rpc->root != NULL) {
        json_decref(rpc->root);
        rpc->root = NULL;
    }
}


void
ngx_http_balance_rpc_fail_lookups(ngx_http_balance_rpc_t *rpc, int code,
    const char *message)
{
    size_t  i;

    for (i = 0; i < rpc->ncalls; i++) {
        if (rpc->calls[i].type == NGX_HTTP_BALANCE_CALL_BALANCE) {
            ngx_http_balance_rpc_error(&rpc->calls[i], code, message);
        }
    }
}


int
ngx_http_balance_rpc_status(ngx_http_balance_rpc_t *rpc)
{
    if (rpc->code == NGX_HTTP_BALANCE_RPC_NOT_ALLOWED) {
        return 403;
    }

    if (rpc->code != 0) {
        return 400;
    }

    return ngx_http_balance_rpc_render(rpc, NULL, 0) ? 200 : 204;
}


size_t
ngx_http_balance_rpc_render(ngx_http_balance_rpc_t *rpc, u_char *buf,
    size_t size)
{
    size_t                   i, n;
    ngx_http_balance_out_t   out;

    out.pos = buf;
    out.end = buf ? buf + size : NULL;
    out.size = 0;

    if (rpc->code != 0) {
        ngx_http_balance_out_reject(&out, rpc);
        return out.size;
    }

    n = 0;

    for (i = 0; i < rpc->ncalls; i++) {
        if (rpc->calls[i].id == NULL) {
            /* a notification gets no answer */
            continue;
        }

        if (rpc->batch) {
            ngx_http_balance_out(&out, n ? "," : "[", 1);
        }

        ngx_http_balance_out_call(&out, &rpc->calls[i]);
        n++;
    }

    if (n == 0) {
        return 0;
    }

    if (rpc->batch) {
        ngx_http_balance_out_literal(&out, "]");
    }

    return out.size;
}


static void
ngx_http_balance_out_reject(ngx_http_balance_out_t *out,
    ngx_http_balance_rpc_t *rpc)
{
    char  num[32];

    ngx_http_balance_out_literal(out, "{\"jsonrpc\":\"2.0\",\"error\":{");
    ngx_http_balance_out(out, num,
                         snprintf(num, sizeof(num), "\"code\":%d", rpc->code));
    ngx_http_balance_out_literal(out, ",\"message\":\"");
    ngx_http_balance_out(out, rpc->message, strlen(rpc->message));
    ngx_http_balance_out_literal(out, "\"");

    if (rpc->size) {
        ngx_http_balance_out_literal(out, ",\"data\":{\"message\":\"Batch "
                                     "size exceeds the limit of ");
        ngx_http_balance_out(out, num,
                             snprintf(num, sizeof(num), "%zu", rpc->limit));
        ngx_http_balance_out_literal(out, "\",\"size\":");
        ngx_http_balance_out(out, num,
                             snprintf(num, sizeof(num), "%zu}", rpc->size));
    }

    ngx_http_balance_out_literal(out, "},\"id\":");
    ngx_http_balance_out_id(out, rpc->id);
    ngx_http_balance_out_literal(out, "}");
}


static void
ngx_http_balance_out_call(ngx_http_balance_out_t *out,
    ngx_http_balance_call_t *call)
{
    char  num[32];

    ngx_http_balance_out_literal(out, "{\"jsonrpc\":\"2.0\",");

    switch (call->type) {

    case NGX_HTTP_BALANCE_CALL_BALANCE:
        ngx_http_balance_out_literal(out, "\"result\":\"");
        ngx_http_balance_out(out, call->hex, call->hex_len);
        ngx_http_balance_out_literal(out, "\"");
        break;

    case NGX_HTTP_BALANCE_CALL_RESULT:
        ngx_http_balance_out_literal(out, "\"result\":");
        ngx_http_balance_out(out, call->result, call->result_len);
        break;

    default: /* NGX_HTTP_BALANCE_CALL_ERROR */
        ngx_http_balance_out(out, num,
                             snprintf(num, sizeof(num),
                                      "\"error\":{\"code\":%d", call->code));
        ngx_http_balance_out_literal(out, ",\"message\":\"");
        ngx_http_balance_out_escaped(out, (const u_char *) call->message,
                                     call->message_len);

        if (call->detail != NULL) {
            ngx_http_balance_out_escaped(out, (const u_char *) call->detail,
                                         call->detail_len);
        }

        ngx_http_balance_out_literal(out, "\"}");
        break;
    }

    ngx_http_balance_out_literal(out, ",\"id\":");
    ngx_http_balance_out_id(out, call->id);
    ngx_http_balance_out_literal(out, "}");
}


static void
ngx_http_balance_out_id(ngx_http_balance_out_t *out, json_t *id)
{
    char    num[32];
    size_t  n;

    if (json_is_string(id)) {
        ngx_http_balance_out_literal(out, "\"");
        ngx_http_balance_out_escaped(out, (const u_char *) json_string_value(id),
                                     json_string_length(id));
        ngx_http_balance_out_literal(out, "\"");
        return;
    }

    if (json_is_integer(id)) {
        ngx_http_balance_out(out, num,
                             snprintf(num, sizeof(num),
                                      "%" JSON_INTEGER_FORMAT,
                                      json_integer_value(id)));
        return;
    }

    if (json_is_real(id)) {
        n = ngx_http_balance_rpc_real(json_real_value(id), num, sizeof(num));
        ngx_http_balance_out(out, num, n);
        return;
    }

    ngx_http_balance_out_literal(out, "null");
}


/*
 * A double as Python's repr() writes it, which is what Studio echoes: the
 * shortest digits that read back to the same value, fixed notation for
 * exponents from -4 to 15 (with ".0" when integral), else d.ddde+XX.
 * Written by hand: neither libc nor jansson has a shortest round-trip
 * format (jansson prints 17 digits, 0.1 as 0.10000000000000001).
 */

static size_t
ngx_http_balance_rpc_real(double v, char *buf, size_t size)
{
    int     prec, exp, ndigits, decpt, i;
    char    sci[32], digits[20], *p, *last;

    /* the shortest "%.*e" that reads back as v */
    for (prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec, v);

        if (strtod(sci, NULL) == v) {
            break;
        }
    }

    p = sci;
    last = buf + size - 1;

    if (*p == '-') {
        p++;
    }

    ndigits = 0;

    for ( /* void */ ; *p != 'e'; p++) {
        if (*p != '.') {
            digits[ndigits++] = *p;
        }
    }

    exp = atoi(p + 1);

    while (ndigits > 1 && digits[ndigits - 1] == '0') {
        ndigits--;
    }

    decpt = exp + 1;
    p = buf;

    if (sci[0] == '-' && p < last) {
        *p++ = '-';
    }

    if (exp >= -4 && exp < 16) {
        if (decpt <= 0) {
            for (i = 0; i < 2 - decpt && p < last; i++) {
                *p++ = (i == 1) ? '.' : '0';
            }

            for (i = 0; i < ndigits && p < last; i++) {
                *p++ = digits[i];
            }

        } else {
            for (i = 0; i < decpt && p < last; i++) {
                *p++ = (i < ndigits) ? digits[i] : '0';
            }

            if (p < last) {
                *p++ = '.';
            }

            if (decpt >= ndigits) {
                if (p < last) {
                    *p++ = '0';
                }

            } else {
                for (i = decpt; i < ndigits && p < last; i++) {
                    *p++ = digits[i];
                }
            }
        }

    } else {
        p += snprintf(p, last - p + 1, "%c", digits[0]);

        if (ndigits > 1) {
            p += snprintf(p, last - p + 1, ".%.*s", ndigits - 1, digits + 1);
        }

        p += snprintf(p, last - p + 1, "e%c%02d", exp < 0 ? '-' : '+',
                      exp < 0 ? -exp : exp);
    }

    *p = '\0';

    return p - buf;
}


static void
ngx_http_balance_out(ngx_http_balance_out_t *out, const void *data,
    size_t len)
{
    if (out->pos != NULL && (size_t) (out->end - out->pos) >= len) {
        memcpy(out->pos, data, len);
        out->pos += len;

    } else {
        out->pos = NULL;
    }

    out->size += len;
}


static void
ngx_http_balance_out_escaped(ngx_http_balance_out_t *out, const u_char *s,
    size_t len)
{
    char           esc[8];
    const u_char  *p, *last, *start;

    static const char  hex[] = "0123456789abcdef";

    /*
     * Strings here are valid UTF-8 (jansson checked them): only the quote,
     * the backslash and control characters need escaping.
     */

    last = s + len;
    start = s;

    for (p = s; p < last; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\') {
            continue;
        }

        ngx_http_balance_out(out, start, p - start);
        start = p + 1;

        esc[0] = '\\';

        switch (*p) {
        case '"':  esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;

        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 0xf];
            ngx_http_balance_out(out, esc, 6);
            continue;
        }

        ngx_http_balance_out(out, esc, 2);
    }

    ngx_http_balance_out(out, start, p - start);
}
