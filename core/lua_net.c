/* core.net: a plain TCP client (tests talk raw HTTP to the server through it). */
#include "host.h"

#include "buf.h"

#include <arpa/inet.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define CONN_MT "core.net.conn"

/** A client connection; freed when both handles are closed and Lua dropped it. */
struct net_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	buf_t in; /* received, not yet read */
	int eof;  /* peer closed or error */
	int closing;
	int open_handles;
	int lua_alive;  /* the userdata still points here */
	task_t *waiter; /* task waiting in connect or read */
	int waiting_connect;
	int ud_ref; /* registry ref to the userdata while connecting */
};

/** The userdata: a pointer to the connection. */
struct conn_ud {
	struct net_conn *c;
};

static void maybe_free(struct net_conn *c)
{
	if (c->open_handles == 0 && !c->lua_alive) {
		buf_free(&c->in);
		free(c);
	}
}

static void on_closed(uv_handle_t *h)
{
	struct net_conn *c = h->data;
	c->open_handles--;
	maybe_free(c);
}

static void conn_close(struct net_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->eof = 1;
	uv_close((uv_handle_t *)&c->timer, on_closed);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void wake(struct net_conn *c)
{
	task_t *t = c->waiter;
	if (!t)
		return;
	c->waiter = NULL;
	uv_timer_stop(&c->timer);
	int n;
	if (c->in.len > 0) {
		lua_pushlstring(t->co, c->in.p, c->in.len);
		buf_reset(&c->in);
		n = 1;
	} else if (c->eof) {
		n = host_fail(t->co, "eof", "the connection was closed");
	} else {
		n = host_fail(t->co, "timeout", "nothing arrived in time");
	}
	task_resume(t, n);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct net_conn *c = h->data;
	if (buf_reserve(&c->in, suggested) != 0) {
		*b = uv_buf_init(NULL, 0);
		return;
	}
	*b = uv_buf_init(c->in.p + c->in.len, (unsigned)(c->in.cap - c->in.len - 1));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	struct net_conn *c = s->data;
	if (n < 0) {
		c->eof = 1;
		uv_read_stop(s);
	} else {
		c->in.len += (size_t)n;
	}
	if (n != 0)
		wake(c);
}

static void on_timeout(uv_timer_t *t)
{
	wake(t->data);
}

static void cancel_wait(task_t *t)
{
	struct net_conn *c = t->op;
	c->waiter = NULL;
	uv_timer_stop(&c->timer);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct net_conn *c = req->data;
	task_t *t = c->waiter;
	c->waiter = NULL;
	c->waiting_connect = 0;
	if (!t)
		return;
	if (status < 0) {
		luaL_unref(t->co, LUA_REGISTRYINDEX, c->ud_ref);
		c->ud_ref = LUA_NOREF;
		c->eof = 1;
		task_resume(t, host_fail(t->co, "connect", "%s", uv_strerror(status)));
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	lua_rawgeti(t->co, LUA_REGISTRYINDEX, c->ud_ref);
	luaL_unref(t->co, LUA_REGISTRYINDEX, c->ud_ref);
	c->ud_ref = LUA_NOREF;
	task_resume(t, 1);
}

/** net.connect(host, port) -> conn | nil, err (waits; err.code "address" or "connect") */
static int l_connect(lua_State *L)
{
	task_t *t = task_check_async(L);
	const char *host = luaL_checkstring(L, 1);
	int port = (int)luaL_checkinteger(L, 2);
	struct sockaddr_storage sa;
	int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa)
	                           : uv_ip4_addr(host, port, (struct sockaddr_in *)&sa);
	if (rc != 0)
		return host_fail(L, "address", "bad address %s", host);
	struct net_conn *c = calloc(1, sizeof *c);
	if (!c)
		return luaL_error(L, "out of memory");
	uv_tcp_init(H->loop, &c->tcp);
	uv_timer_init(H->loop, &c->timer);
	c->tcp.data = c->timer.data = c->connect.data = c;
	c->open_handles = 2;
	c->lua_alive = 1;
	lua_settop(L, 0);
	struct conn_ud *ud = lua_newuserdatauv(L, sizeof *ud, 0);
	ud->c = c;
	luaL_setmetatable(L, CONN_MT);
	rc = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&sa, on_connect);
	if (rc != 0) {
		conn_close(c);
		return host_fail(L, "connect", "%s", uv_strerror(rc));
	}
	lua_pushvalue(L, -1);
	c->ud_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	c->waiter = t;
	c->waiting_connect = 1;
	return task_yield(L, t, c, cancel_wait);
}

static struct net_conn *check(lua_State *L)
{
	struct conn_ud *ud = luaL_checkudata(L, 1, CONN_MT);
	return ud->c;
}

/** A write in flight. */
struct net_write {
	uv_write_t w;
	task_t *task;
	char data[];
};

static void on_written(uv_write_t *w, int status)
{
	struct net_write *nw = (struct net_write *)w;
	task_t *t = nw->task;
	free(nw);
	if (status < 0) {
		task_resume(t, host_fail(t->co, "write", "%s", uv_strerror(status)));
	} else {
		lua_pushboolean(t->co, 1);
		task_resume(t, 1);
	}
}

/** conn:send(bytes) -> true | nil, err (waits until written; err.code "closed" or "write") */
static int l_send(lua_State *L)
{
	struct net_conn *c = check(L);
	size_t n;
	const char *s = luaL_checklstring(L, 2, &n);
	task_t *t = task_check_async(L);
	if (c->closing)
		return host_fail(L, "closed", "connection closed");
	struct net_write *nw = malloc(sizeof *nw + n + 1);
	if (!nw)
		return luaL_error(L, "out of memory");
	memcpy(nw->data, s, n);
	nw->task = t;
	uv_buf_t b = uv_buf_init(nw->data, (unsigned)n);
	int rc = uv_write(&nw->w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
	if (rc != 0) {
		free(nw);
		return host_fail(L, "write", "%s", uv_strerror(rc));
	}
	return task_yield(L, t, nw, NULL);
}

/** conn:read([timeout_ms=5000]) -> bytes | nil, err (waits; err.code "eof" or "timeout") */
static int l_read(lua_State *L)
{
	struct net_conn *c = check(L);
	lua_Integer ms = luaL_optinteger(L, 2, 5000);
	task_t *t = task_check_async(L);
	if (c->in.len > 0) {
		lua_pushlstring(L, c->in.p, c->in.len);
		buf_reset(&c->in);
		return 1;
	}
	if (c->eof)
		return host_fail(L, "eof", "the connection was closed");
	c->waiter = t;
	uv_timer_start(&c->timer, on_timeout, (uint64_t)ms, 0);
	return task_yield(L, t, c, cancel_wait);
}

/** conn:closed() -> true once the peer closed the connection */
static int l_closed(lua_State *L)
{
	lua_pushboolean(L, check(L)->eof);
	return 1;
}

static int l_close(lua_State *L)
{
	struct net_conn *c = check(L);
	conn_close(c);
	return 0;
}

static int l_gc(lua_State *L)
{
	struct conn_ud *ud = luaL_checkudata(L, 1, CONN_MT);
	if (ud->c) {
		ud->c->lua_alive = 0;
		conn_close(ud->c);
		maybe_free(ud->c);
		ud->c = NULL;
	}
	return 0;
}

/** net.ip_bytes(text) -> 4 or 16 raw bytes (IPv4-mapped IPv6 becomes 4), or nil */
static int l_ip_bytes(lua_State *L)
{
	const char *s = luaL_checkstring(L, 1);
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1) {
		lua_pushlstring(L, (const char *)buf, 4);
		return 1;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(buf, mapped, 12) == 0)
			lua_pushlstring(L, (const char *)buf + 12, 4);
		else
			lua_pushlstring(L, (const char *)buf, 16);
		return 1;
	}
	return 0;
}

int luaopen_core_net(lua_State *L)
{
	static const luaL_Reg methods[] = {
	    {"send", l_send}, {"read", l_read}, {"close", l_close}, {"closed", l_closed}, {NULL, NULL},
	};
	luaL_newmetatable(L, CONN_MT);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	static const luaL_Reg fns[] = {{"connect", l_connect}, {"ip_bytes", l_ip_bytes}, {NULL, NULL}};
	luaL_newlib(L, fns);
	return 1;
}
