
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#ifndef _NGX_HTTP_BALANCE_KECCAK_H_INCLUDED_
#define _NGX_HTTP_BALANCE_KECCAK_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>


#define NGX_HTTP_BALANCE_KECCAK256_LEN  32


/*
 * Keccak-256 as Ethereum uses it: the original Keccak padding (0x01),
 * not FIPS 202 SHA3-256 (0x06).
 */
void ngx_http_balance_keccak256(const u_char *in, size_t len, u_char *out);


#endif /* _NGX_HTTP_BALANCE_KECCAK_H_INCLUDED_ */
