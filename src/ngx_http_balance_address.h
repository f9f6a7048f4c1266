
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#ifndef _NGX_HTTP_BALANCE_ADDRESS_H_INCLUDED_
#define _NGX_HTTP_BALANCE_ADDRESS_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>


/* "0x" followed by 40 hex digits */
#define NGX_HTTP_BALANCE_ADDRESS_LEN  42


/* slots of the checksum cache: a power of two */
#define NGX_HTTP_BALANCE_ADDRESS_CACHE  2048


#define NGX_HTTP_BALANCE_ADDRESS_OK            0
#define NGX_HTTP_BALANCE_ADDRESS_INVALID      -1
#define NGX_HTTP_BALANCE_ADDRESS_BAD_CHECKSUM -2


/*
 * Validates an address as eth_utils.is_address (eth-utils 5) does: an
 * optional "0x"/"0X" prefix, then exactly 40 hex digits in any case.
 * With "strict" set, a mixed-case address must also carry a correct EIP-55
 * checksum.  On success writes the EIP-55 checksummed form ("0x" + 40) to
 * "out" (NGX_HTTP_BALANCE_ADDRESS_LEN bytes, not NUL-terminated).
 */
int ngx_http_balance_address_parse(const u_char *in, size_t len, int strict,
    u_char *out);

/*
 * Remembers the EIP-55 forms of recent addresses, so that an address seen
 * again costs no keccak: a direct-mapped table, an entry per slot, zeroed
 * when created.  One per worker; not shared between threads.
 */
typedef struct {
    u_char  lower[NGX_HTTP_BALANCE_ADDRESS_CACHE][40];
    u_char  checked[NGX_HTTP_BALANCE_ADDRESS_CACHE][40];
} ngx_http_balance_address_cache_t;

/* ngx_http_balance_address_parse() with a cache (NULL: none) */
int ngx_http_balance_address_parse_cached(const u_char *in, size_t len,
    int strict, u_char *out, ngx_http_balance_address_cache_t *cache);

/* writes the EIP-55 form of 40 lowercase hex digits "hex" to "out" (40) */
void ngx_http_balance_address_checksum(const u_char *hex, u_char *out);


#endif /* _NGX_HTTP_BALANCE_ADDRESS_H_INCLUDED_ */
