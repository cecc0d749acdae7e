/* core.totp: 2-step verification codes (RFC 6238 TOTP, HMAC-SHA1) over core/totp.c. The time
 * is always an argument (the virtual clock in tests); nothing here reads the real clock. */
#include "host.h"

#include "totp.h"

#include <lauxlib.h>
#include <math.h>
#include <sodium.h>
#include <string.h>

/** Decodes argument i as a base32 secret into bin; raises when it is not one. */
static size_t check_secret(lua_State *L, int i, unsigned char *bin)
{
	size_t n;
	const char *s = luaL_checklstring(L, i, &n);
	int len = totp_decode_secret(s, n, bin);
	if (len < 0)
		luaL_argerror(L, i, "not a base32 TOTP secret of 80 to 512 bits");
	return (size_t)len;
}

/** Argument i as whole seconds since the epoch (a fraction is dropped); raises if negative. */
static int64_t check_time(lua_State *L, int i)
{
	lua_Number t = luaL_checknumber(L, i);
	luaL_argcheck(L, t >= 0 && t < 1e15, i, "a time in seconds since 1970");
	return (int64_t)floor(t);
}

/** totp.new_secret() -> 32 base32 characters (160 random bits) */
static int l_new_secret(lua_State *L)
{
	char s[TOTP_SECRET_CHARS + 1];
	totp_new_secret(s);
	lua_pushstring(L, s);
	sodium_memzero(s, sizeof s);
	return 1;
}

/** totp.code(secret, unix_time [, digits=6 [, step=30]]) -> the code as a string */
static int l_code(lua_State *L)
{
	unsigned char bin[TOTP_MAX_SECRET_BYTES];
	size_t n = check_secret(L, 1, bin);
	int64_t now = check_time(L, 2);
	lua_Integer digits = luaL_optinteger(L, 3, 6);
	lua_Integer step = luaL_optinteger(L, 4, 30);
	luaL_argcheck(L, digits >= 6 && digits <= 8, 3, "6, 7 or 8 digits");
	luaL_argcheck(L, step >= 1 && step <= 3600, 4, "1..3600 seconds");
	char code[16];
	int rc = totp_code_at(bin, n, now / step, (unsigned)digits, code);
	sodium_memzero(bin, sizeof bin);
	if (rc != 0)
		return luaL_error(L, "liboath could not compute the code");
	lua_pushstring(L, code);
	return 1;
}

/** totp.verify(secret, code, unix_time [, window=1 [, step=30]]) -> matched step number or nil.
 * A code that is not 6..8 digits is simply not accepted. */
static int l_verify(lua_State *L)
{
	unsigned char bin[TOTP_MAX_SECRET_BYTES];
	size_t n = check_secret(L, 1, bin);
	size_t clen = 0;
	const char *code = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &clen) : NULL;
	int64_t now = check_time(L, 3);
	lua_Integer window = luaL_optinteger(L, 4, 1);
	lua_Integer step = luaL_optinteger(L, 5, 30);
	luaL_argcheck(L, window >= 0 && window <= TOTP_MAX_WINDOW, 4, "0..10 steps");
	luaL_argcheck(L, step >= 1 && step <= 3600, 5, "1..3600 seconds");
	int64_t matched = 0;
	int rc = code ? totp_verify(bin, n, code, clen, now, (unsigned)step, (unsigned)window, &matched) : 0;
	sodium_memzero(bin, sizeof bin);
	if (rc < 0)
		return luaL_error(L, "liboath could not compute the code");
	if (rc == 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, matched);
	return 1;
}

/** totp.uri(secret, account, issuer) -> "otpauth://totp/Issuer:account?secret=...&issuer=..." */
static int l_uri(lua_State *L)
{
	unsigned char bin[TOTP_MAX_SECRET_BYTES];
	check_secret(L, 1, bin);
	sodium_memzero(bin, sizeof bin);
	const char *secret = lua_tostring(L, 1);
	size_t alen, ilen;
	const char *account = luaL_checklstring(L, 2, &alen);
	const char *issuer = luaL_checklstring(L, 3, &ilen);
	luaL_argcheck(L, alen > 0 && alen <= 256 && !memchr(account, ':', alen) && strlen(account) == alen, 2,
	              "1..256 bytes without ':' or NUL");
	luaL_argcheck(L, ilen > 0 && ilen <= 256 && !memchr(issuer, ':', ilen) && strlen(issuer) == ilen, 3,
	              "1..256 bytes without ':' or NUL");
	char out[2048];
	if (totp_uri(secret, account, issuer, out, sizeof out) < 0)
		return luaL_error(L, "the otpauth URI is too long");
	lua_pushstring(L, out);
	return 1;
}

int luaopen_core_totp(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"new_secret", l_new_secret},
	    {"code", l_code},
	    {"verify", l_verify},
	    {"uri", l_uri},
	    {NULL, NULL},
	};
	if (totp_init() != 0)
		return luaL_error(L, "cannot initialise liboath");
	luaL_newlib(L, fns);
	return 1;
}
