
/*
 * Copyright (C) ngx_http_balance_module authors
 */


#ifndef _NGX_HTTP_BALANCE_QUANTITY_H_INCLUDED_
#define _NGX_HTTP_BALANCE_QUANTITY_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>


/* longest decimal accepted: numeric(78,0) holds up to 78 digits */
#define NGX_HTTP_BALANCE_QUANTITY_MAX_DIGITS  78

/* "0x" + 65 hex digits (10^78 - 1 needs 65) */
#define NGX_HTTP_BALANCE_QUANTITY_MAX_LEN     67


/*
 * Converts PostgreSQL's text form of a non-negative integral numeric
 * ("0", "123", also "5.000" from an unscaled column) into an Ethereum hex
 * quantity: "0x0" for zero, else "0x" + lowercase hex without leading
 * zeros.  Returns the length written to "out" (at least
 * NGX_HTTP_BALANCE_QUANTITY_MAX_LEN bytes), or -1 when the input is not
 * such a number (sign, fraction, exponent, empty, too long, not digits).
 */
ssize_t ngx_http_balance_quantity_from_decimal(const u_char *dec, size_t len,
    u_char *out);


#endif /* _NGX_HTTP_BALANCE_QUANTITY_H_INCLUDED_ */
