/* core.server: the HTTP listener as seen from Lua. */
#include "host.h"

#include "log.h"

#include <lauxlib.h>
#include <string.h>

/* Reads the list of address ranges at index idx into cfg (raises on a bad one). */
static void read_ranges(lua_State *L, int idx, http_config_t *cfg)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	if (n > HTTP_MAX_EXEMPT)
		luaL_error(L, "at most %d exempt address ranges", HTTP_MAX_EXEMPT);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, i);
		const char *text = lua_tostring(L, -1);
		if (!text || http_range_parse(text, &cfg->exempt[i - 1]) != 0)
			luaL_error(L, "not an address range: %s", text ? text : "?");
		lua_pop(L, 1);
	}
	cfg->nexempt = (int)n;
}

/** server.configure{max_header_bytes=, max_body_bytes=, header_timeout_ms=, body_timeout_ms=,
 *  idle_timeout_ms=, max_connections=, max_connections_per_address=, max_output_bytes=,
 *  exempt_addresses={"10.0.0.0/8", ...}}: before listen, or while listening (then it applies
 *  to connections from now on). */
static int l_configure(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	http_config_t cfg = H->http_cfg;
	struct {
		const char *name;
		void *field;
		int is_size;
	} opts[] = {
	    {"max_header_bytes", &cfg.max_header_bytes, 1},
	    {"max_body_bytes", &cfg.max_body_bytes, 1},
	    {"header_timeout_ms", &cfg.header_timeout_ms, 0},
	    {"body_timeout_ms", &cfg.body_timeout_ms, 0},
	    {"idle_timeout_ms", &cfg.idle_timeout_ms, 0},
	    {"max_connections", &cfg.max_connections, 0},
	    {"max_connections_per_address", &cfg.max_connections_per_address, 0},
	    {"max_output_bytes", &cfg.max_output_bytes, 1},
	};
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		const char *k = lua_tostring(L, -2);
		if (k && strcmp(k, "exempt_addresses") == 0) {
			read_ranges(L, lua_gettop(L), &cfg);
			lua_pop(L, 1);
			continue;
		}
		size_t i;
		for (i = 0; i < sizeof opts / sizeof opts[0]; i++)
			if (k && strcmp(k, opts[i].name) == 0)
				break;
		if (i == sizeof opts / sizeof opts[0])
			return luaL_error(L, "unknown server setting %s", k ? k : "?");
		lua_Integer v = luaL_checkinteger(L, -1);
		if (v <= 0)
			return luaL_error(L, "server setting %s must be positive", k);
		if (opts[i].is_size)
			*(size_t *)opts[i].field = (size_t)v;
		else
			*(unsigned *)opts[i].field = (unsigned)v;
		lua_pop(L, 1);
	}
	H->http_cfg = cfg;
	if (H->server)
		http_server_configure(H->server, &cfg);
	return 0;
}

/** server.set_handler(fn): fn(req) -> status, headers, body; runs as a task per request. */
static int l_set_handler(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	luaL_unref(L, LUA_REGISTRYINDEX, H->handler_ref);
	lua_pushvalue(L, 1);
	H->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/** server.listen(host, port) -> bound port | nil, err */
static int l_listen(lua_State *L)
{
	const char *host = luaL_checkstring(L, 1);
	int port = (int)luaL_checkinteger(L, 2);
	if (H->server)
		return host_fail(L, "listening", "already listening");
	char err[512];
	H->server =
	    http_server_start(H->loop, host, port, &H->http_cfg, host_on_request, NULL, err, sizeof err);
	if (!H->server)
		return host_fail(L, "listen", "%s", err);
	host_offload_checkpoints(); /* serving: no commit waits for a checkpoint */
	lua_pushinteger(L, http_server_port(H->server));
	return 1;
}

static http_server_t *need_server(lua_State *L)
{
	if (!H->server)
		luaL_error(L, "the server is not listening");
	return H->server;
}

static int l_set_common_headers(lua_State *L)
{
	http_server_set_common_headers(need_server(L), luaL_checkstring(L, 1));
	return 0;
}

/** server.set_static(prefix, dir) -> number of files loaded */
static int l_set_static(lua_State *L)
{
	int n = http_server_set_static(need_server(L), luaL_checkstring(L, 1), luaL_checkstring(L, 2));
	if (n < 0)
		return host_fail(L, "static", "cannot read the static folder %s", lua_tostring(L, 2));
	lua_pushinteger(L, n);
	return 1;
}

static int l_static_etag(lua_State *L)
{
	if (!H->server)
		return 0;
	const char *etag = http_server_static_etag(H->server, luaL_checkstring(L, 1));
	if (!etag)
		return 0;
	lua_pushlstring(L, etag + 1, strlen(etag) - 2); /* without the quotes */
	return 1;
}

static void stopped(void *ud)
{
	(void)ud;
	log_info("server stopped");
}

/** server.stop() stops accepting; connections finish their request and close. */
static int l_stop(lua_State *L)
{
	(void)L;
	if (H->server)
		http_server_stop(H->server, stopped, NULL);
	return 0;
}

/** server.counts() -> open connections, requests in progress */
static int l_counts(lua_State *L)
{
	int c = 0, b = 0;
	if (H->server)
		http_server_counts(H->server, &c, &b);
	lua_pushinteger(L, c);
	lua_pushinteger(L, b);
	return 2;
}

/** server.stats() -> {connections=, busy=, paused=, queued_bytes=, max_queued_bytes=} */
static int l_stats(lua_State *L)
{
	http_stats_t st = {0};
	if (H->server)
		http_server_stats(H->server, &st);
	lua_createtable(L, 0, 5);
	lua_pushinteger(L, st.conns);
	lua_setfield(L, -2, "connections");
	lua_pushinteger(L, st.busy);
	lua_setfield(L, -2, "busy");
	lua_pushinteger(L, st.paused);
	lua_setfield(L, -2, "paused");
	lua_pushinteger(L, (lua_Integer)st.queued_bytes);
	lua_setfield(L, -2, "queued_bytes");
	lua_pushinteger(L, (lua_Integer)st.max_queued);
	lua_setfield(L, -2, "max_queued_bytes");
	return 1;
}

/** server.limits() -> the settings of server.configure (exempt_addresses: how many) */
static int l_limits(lua_State *L)
{
	lua_createtable(L, 0, 9);
	lua_pushinteger(L, (lua_Integer)H->http_cfg.max_header_bytes);
	lua_setfield(L, -2, "max_header_bytes");
	lua_pushinteger(L, (lua_Integer)H->http_cfg.max_body_bytes);
	lua_setfield(L, -2, "max_body_bytes");
	lua_pushinteger(L, H->http_cfg.header_timeout_ms);
	lua_setfield(L, -2, "header_timeout_ms");
	lua_pushinteger(L, H->http_cfg.body_timeout_ms);
	lua_setfield(L, -2, "body_timeout_ms");
	lua_pushinteger(L, H->http_cfg.idle_timeout_ms);
	lua_setfield(L, -2, "idle_timeout_ms");
	lua_pushinteger(L, H->http_cfg.max_connections);
	lua_setfield(L, -2, "max_connections");
	lua_pushinteger(L, H->http_cfg.max_connections_per_address);
	lua_setfield(L, -2, "max_connections_per_address");
	lua_pushinteger(L, (lua_Integer)H->http_cfg.max_output_bytes);
	lua_setfield(L, -2, "max_output_bytes");
	lua_pushinteger(L, H->http_cfg.nexempt);
	lua_setfield(L, -2, "exempt_addresses");
	return 1;
}

int luaopen_core_server(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"configure", l_configure},
	    {"set_handler", l_set_handler},
	    {"listen", l_listen},
	    {"set_common_headers", l_set_common_headers},
	    {"set_static", l_set_static},
	    {"static_etag", l_static_etag},
	    {"stop", l_stop},
	    {"counts", l_counts},
	    {"limits", l_limits},
	    {"stats", l_stats},
	    {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
