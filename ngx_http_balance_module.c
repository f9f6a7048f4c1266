
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "src/ngx_http_balance_module.h"


static ngx_int_t ngx_http_balance_init_process(ngx_cycle_t *cycle);
static void ngx_http_balance_exit_process(ngx_cycle_t *cycle);
static void *ngx_http_balance_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_balance_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_balance_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_balance_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_balance_chain_id(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_balance_deny_methods(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_balance_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_balance_postconfiguration(ngx_conf_t *cf);


static ngx_command_t  ngx_http_balance_commands[] = {

    { ngx_string("balance_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_balance_pool_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("balance_pass"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_balance_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("balance_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_balance_loc_conf_t, fallback),
      NULL },

    { ngx_string("balance_fallback_invalid"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_balance_loc_conf_t, fallback_invalid),
      NULL },

    { ngx_string("balance_deny_methods"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_balance_deny_methods,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("balance_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_balance_status,
      0,
      0,
      NULL },

    { ngx_string("balance_max_batch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_balance_loc_conf_t, max_batch),
      NULL },

    { ngx_string("balance_strict_checksum"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_balance_loc_conf_t, strict),
      NULL },

    { ngx_string("balance_chain_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_balance_chain_id,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_balance_module_ctx = {
    ngx_http_balance_preconfiguration,     /* preconfiguration */
    ngx_http_balance_postconfiguration,    /* postconfiguration */

    ngx_http_balance_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_balance_create_loc_conf,      /* create location configuration */
    ngx_http_balance_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_balance_module = {
    NGX_MODULE_V1,
    &ngx_http_balance_module_ctx,          /* module context */
    ngx_http_balance_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_balance_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_balance_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_balance_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_balance_add_variables(cf);
}


static ngx_int_t
ngx_http_balance_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_balance_main_conf_t  *bmcf;

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_balance_module);

    ngx_http_balance_budget(cf, bmcf);

    return NGX_OK;
}


static ngx_int_t
ngx_http_balance_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    ngx_http_balance_pool_conf_t **pools;
    ngx_http_balance_main_conf_t  *bmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_balance_module);
    if (bmcf == NULL) {
        return NGX_OK;
    }

    ngx_http_balance_json_init();

    /* repeated addresses skip keccak: about 160 kB per worker */
    bmcf->address_cache = ngx_pcalloc(cycle->pool,
                                    sizeof(ngx_http_balance_address_cache_t));
    if (bmcf->address_cache == NULL) {
        return NGX_ERROR;
    }

    pools = bmcf->pools.elts;

    for (i = 0; i < bmcf->pools.nelts; i++) {
        if (ngx_http_balance_pool_init_worker(cycle, pools[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_balance_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    ngx_http_balance_pool_conf_t **pools;
    ngx_http_balance_main_conf_t  *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_balance_module);
    if (bmcf == NULL) {
        return;
    }

    pools = bmcf->pools.elts;

    for (i = 0; i < bmcf->pools.nelts; i++) {
        ngx_http_balance_pool_exit_worker(pools[i]);
    }
}


static void *
ngx_http_balance_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_balance_main_conf_t  *bmcf;

    bmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_balance_main_conf_t));
    if (bmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&bmcf->pools, cf->pool, 2,
                       sizeof(ngx_http_balance_pool_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return bmcf;
}


static void *
ngx_http_balance_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_balance_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_balance_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->pool = NULL;
     *     conf->pool_name = { 0, NULL };
     *     conf->chain_id = { 0, NULL };
     *     conf->net_version = { 0, NULL };
     *     conf->fallback = { 0, NULL };
     */

    conf->max_batch = NGX_CONF_UNSET_UINT;
    conf->strict = NGX_CONF_UNSET;
    conf->fallback_invalid = NGX_CONF_UNSET;
    conf->deny = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_balance_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_balance_loc_conf_t *prev = parent;
    ngx_http_balance_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->max_batch, prev->max_batch, 100);
    ngx_conf_merge_value(conf->strict, prev->strict, 0);
    ngx_conf_merge_str_value(conf->chain_id, prev->chain_id, "");
    ngx_conf_merge_str_value(conf->net_version, prev->net_version, "");
    ngx_conf_merge_str_value(conf->fallback, prev->fallback, "");
    ngx_conf_merge_value(conf->fallback_invalid, prev->fallback_invalid, 0);
    ngx_conf_merge_ptr_value(conf->deny, prev->deny, NULL);

    if (conf->fallback_invalid && conf->deny) {
        /*
         * A body we cannot read could name a restricted method that the
         * backend's parser would find: never forward it.
         */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"balance_fallback_invalid\" cannot be used "
                           "with \"balance_deny_methods\"");
        return NGX_CONF_ERROR;
    }

    if (conf->max_batch == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"balance_max_batch\" must be at least 1");
        return NGX_CONF_ERROR;
    }

    if (conf->fallback.len && conf->fallback.data[0] != '@') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"balance_fallback\" must name a named location "
                           "such as \"@backend\", not \"%V\"",
                           &conf->fallback);
        return NGX_CONF_ERROR;
    }

    if (conf->pool_name.len == 0) {
        return NGX_CONF_OK;
    }

    conf->pool = ngx_http_balance_find_pool(cf, &conf->pool_name);

    if (conf->pool == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"balance_pass\" names unknown balance_pool "
                           "\"%V\"", &conf->pool_name);
        return NGX_CONF_ERROR;
    }

    /* a whole batch must fit in one statement */
    if (conf->pool->round < conf->max_batch) {
        conf->pool->round = conf->max_batch;
    }

    return NGX_CONF_OK;
}


ngx_http_balance_pool_conf_t *
ngx_http_balance_find_pool(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                     i;
    ngx_http_balance_pool_conf_t **pools;
    ngx_http_balance_main_conf_t  *bmcf;

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_balance_module);
    pools = bmcf->pools.elts;

    for (i = 0; i < bmcf->pools.nelts; i++) {
        if (pools[i]->name.len == name->len
            && ngx_strncmp(pools[i]->name.data, name->data, name->len) == 0)
        {
            return pools[i];
        }
    }

    return NULL;
}


static char *
ngx_http_balance_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_balance_loc_conf_t *blcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (blcf->pool_name.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes the name of a balance_pool, not \"\"";
    }

    blcf->pool_name = value[1];

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_balance_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_balance_chain_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_balance_loc_conf_t *blcf = conf;

    u_char     *p;
    uint64_t    id;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (blcf->chain_id.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* a decimal chain id (EIP-155), up to 2^53-1 as wallets accept */
    if (value[1].len == 0 || value[1].len > 16) {
        goto invalid;
    }

    id = 0;

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] < '0' || value[1].data[i] > '9') {
            goto invalid;
        }

        id = id * 10 + (value[1].data[i] - '0');
    }

    if (id == 0 || id > 9007199254740991ULL) {
        goto invalid;
    }

    p = ngx_pnalloc(cf->pool, sizeof("\"0x\"") + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    blcf->chain_id.data = p;
    blcf->chain_id.len = ngx_sprintf(p, "\"0x%xL\"%Z", id) - p - 1;

    p = ngx_pnalloc(cf->pool, sizeof("\"\"") + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    blcf->net_version.data = p;
    blcf->net_version.len = ngx_sprintf(p, "\"%uL\"%Z", id) - p - 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid chain id \"%V\" in \"balance_chain_id\": "
                       "a decimal number from 1 to 9007199254740991 is "
                       "expected", &value[1]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_balance_deny_methods(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_balance_loc_conf_t *blcf = conf;

    const char  **name;
    ngx_str_t    *value;
    ngx_uint_t    i;

    /* repeated directives add to the list, as "env" and "ssl_ciphers" do */
    if (blcf->deny == NGX_CONF_UNSET_PTR) {
        blcf->deny = ngx_array_create(cf->pool, 16, sizeof(char *));
        if (blcf->deny == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "takes no empty method name";
        }

        name = ngx_array_push(blcf->deny);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        /* the parser NUL-terminates every word: jsonrpc.c takes C strings */
        *name = (const char *) value[i].data;
    }

    return NGX_CONF_OK;
}
