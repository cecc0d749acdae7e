/** Prices of the string and table library functions that do unbounded work in C, where the
 * instruction hook never fires: the sandbox charges (or refuses) a call before it runs. Plain C,
 * no Lua. */
#ifndef CANDOR_SANDBOX_PRICE_H
#define CANDOR_SANDBOX_PRICE_H

#include <stddef.h>

/** Calls of pattern functions priced above this are refused. */
#define SANDBOX_MAX_MATCH_COST 1e8

/** The worst case of Lua's backtracking matcher for pattern p (plen bytes) on a text of n
 * bytes: pattern length x, per start position, n for every '*', '+' or '-' item that is not the
 * last one, 2 for every '?' item, n for every %b; x n again when the search is not anchored
 * (anchor_ok: a leading '^' anchors, as in find/match/gsub but not gmatch). A pattern without
 * special characters costs n x (plen + 1). */
double sandbox_match_cost(const char *p, size_t plen, double n, int anchor_ok);

/** The number of bytes a search starting at init (1-based, negative from the end, as Lua
 * reads it) looks at in a text of len bytes. */
double sandbox_searched_length(size_t len, long long init);

/** Instructions charged for string.rep(s, n, sep) with #s = l and #sep = lsep: one per four
 * copies plus one per 256 bytes made (0 when n <= 0). */
double sandbox_rep_cost(size_t l, long long n, size_t lsep);

/** Instructions charged for a table function that visits count elements one by one
 * (table.move, insert, remove, concat, unpack): count, or 0 when count <= 0. */
double sandbox_span_cost(long long first, long long last);

#endif
