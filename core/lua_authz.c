/* core.authz: the permission evaluator (core/authz.c) for Lua: the policy (roles and actions,
 * given one by one through narrow calls: lib/policy.lua reads and checks the policy files), the
 * org graph, decisions and their explanations. Each Lua state has its own evaluator. */
#include "host.h"

#include "authz.h"

#include <lauxlib.h>
#include <string.h>

/** The evaluator of this Lua state (full userdata, upvalue 1 of every function). */
typedef struct box {
	authz_t *az;             /* owned */
	authz_policy_t *pending; /* a policy being given (policy_begin .. policy_commit), owned */
} box_t;

/* upvalue 2: a table keeping the rule names interned (rule_names) */
#define STATE lua_upvalueindex(2)

static box_t *box(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static authz_t *get(lua_State *L)
{
	return box(L)->az;
}

static int box_gc(lua_State *L)
{
	box_t *b = lua_touserdata(L, 1);
	authz_policy_free(b->pending);
	authz_free(b->az);
	b->pending = NULL;
	b->az = NULL;
	return 0;
}

/* ---------------------------------------------------------------- ctx */

/* Whether the key k (len bytes) is the literal lit: the lengths compared first (the ctx's keys
 * are matched on every check, a few checks a request). */
#define KEY_IS(k, len, lit) ((len) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* The ctx.rel bit called name (len bytes), or 0. */
static unsigned part_bit(const char *name, size_t len)
{
	return KEY_IS(name, len, "author")           ? AUTHZ_AUTHOR
	       : KEY_IS(name, len, "reviewer")       ? AUTHZ_REVIEWER
	       : KEY_IS(name, len, "guest_reviewer") ? AUTHZ_GUEST_REVIEWER
	       : KEY_IS(name, len, "recipient")      ? AUTHZ_RECIPIENT
	       : KEY_IS(name, len, "named")          ? AUTHZ_NAMED
	       : KEY_IS(name, len, "participant")    ? AUTHZ_PARTICIPANT
	                                             : 0;
}

/* The ctx.vis party called name (len bytes), or AUTHZ_VIS_N: in the order of authz_ctx_t's vis. */
static int vis_party(const char *name, size_t len)
{
	return KEY_IS(name, len, "self")               ? 0
	       : KEY_IS(name, len, "direct_manager")   ? 1
	       : KEY_IS(name, len, "indirect_manager") ? 2
	       : KEY_IS(name, len, "hr")               ? 3
	       : KEY_IS(name, len, "reviewer")         ? 4
	                                               : AUTHZ_VIS_N;
}

/* The key at stack index idx as text and its length ("" for a key that is not a string). */
static const char *key_text(lua_State *L, int idx, size_t *len)
{
	if (lua_type(L, idx) == LUA_TSTRING)
		return lua_tolstring(L, idx, len);
	*len = 0;
	return "";
}

/* The level at stack index idx (absolute), for ctx.vis.<key>; raises when it is not one. */
static int level_arg(lua_State *L, int idx, int arg, const char *key)
{
	authz_level_t lv;
	if (lua_type(L, idx) != LUA_TSTRING || authz_level_parse(lua_tostring(L, idx), &lv))
		return luaL_argerror(L, arg,
		                     lua_pushfstring(L,
		                                     "ctx.vis.%s: expected never, always, after_submit, "
		                                     "after_release, after_share or after_sign",
		                                     key));
	return (int)lv;
}

/* Parses the table at idx into c (all zero when idx is nil). Raises on misuse. */
static void ctx_arg(lua_State *L, authz_t *az, int idx, authz_ctx_t *c)
{
	memset(c, 0, sizeof *c);
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		size_t klen;
		const char *k = key_text(L, -2, &klen);
		if (KEY_IS(k, klen, "subject")) {
			int isnum;
			c->subject = lua_tointegerx(L, -1, &isnum);
			if (!isnum || lua_type(L, -1) != LUA_TNUMBER)
				luaL_argerror(L, idx, "ctx.subject must be an integer id");
			c->has_subject = 1;
		} else if (KEY_IS(k, klen, "vis")) {
			if (!lua_istable(L, -1))
				luaL_argerror(L, idx, "ctx.vis must be a table");
			c->has_vis = 1;
			int v = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, v)) {
				size_t vlen;
				const char *vk = key_text(L, -2, &vlen);
				int i = vis_party(vk, vlen);
				if (i < AUTHZ_VIS_N)
					c->vis[i] = (uint8_t)level_arg(L, lua_gettop(L), idx, vk);
				else
					luaL_argerror(L, idx,
					              lua_pushfstring(L, "unknown ctx.vis party \"%s\"", vk));
				lua_pop(L, 1);
			}
		} else if (KEY_IS(k, klen, "stage")) {
			authz_stage_t st;
			if (lua_type(L, -1) != LUA_TSTRING || authz_stage_parse(lua_tostring(L, -1), &st))
				luaL_argerror(
				    L, idx, "ctx.stage must be draft, submitted, released, shared or signed");
			c->stage = (uint8_t)st;
		} else if (KEY_IS(k, klen, "cycle_role")) {
			int cr = lua_type(L, -1) == LUA_TSTRING
			             ? authz_cycle_role_parse(az, lua_tostring(L, -1))
			             : -1;
			if (cr >= 0)
				c->cycle_role = (uint8_t)(cr + 1);
			else if (lua_toboolean(L, -1))
				luaL_argerror(L, idx,
				              "ctx.cycle_role must be a cycle role of the policy or nil");
		} else if (KEY_IS(k, klen, "rel")) {
			if (!lua_istable(L, -1))
				luaL_argerror(L, idx, "ctx.rel must be a table");
			int v = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, v)) {
				size_t rlen;
				const char *rk = key_text(L, -2, &rlen);
				unsigned bit = part_bit(rk, rlen);
				if (!bit)
					luaL_argerror(L, idx,
					              lua_pushfstring(L, "unknown ctx.rel entry \"%s\"", rk));
				if (lua_toboolean(L, -1))
					c->rel |= (uint8_t)bit;
				lua_pop(L, 1);
			}
		} else {
			luaL_argerror(L, idx, lua_pushfstring(L, "unknown ctx field \"%s\"", k));
		}
		lua_pop(L, 1);
	}
}

static int action_arg(lua_State *L, authz_t *az, int idx)
{
	size_t len;
	const char *name = luaL_checklstring(L, idx, &len);
	return authz_action_find(az, name, len);
}

/* ---------------------------------------------------------------- people */

/** authz.put(id, manager_id_or_nil, { roles = {"hr_admin", ...}, guest = bool, active = bool })
 * adds or updates a person; active defaults to true. */
static int l_put(lua_State *L)
{
	authz_t *az = get(L);
	lua_Integer id = luaL_checkinteger(L, 1);
	int has_manager = !lua_isnoneornil(L, 2);
	lua_Integer manager = has_manager ? luaL_checkinteger(L, 2) : 0;
	unsigned flags = AUTHZ_ACTIVE;
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, 3)) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
			if (strcmp(k, "roles") == 0) {
				if (!lua_istable(L, -1))
					luaL_argerror(L, 3, "roles must be a list of role names");
				lua_Integer n = luaL_len(L, -1);
				for (lua_Integer i = 1; i <= n; i++) {
					lua_rawgeti(L, -1, i);
					int r = lua_type(L, -1) == LUA_TSTRING
					            ? authz_role_parse(az, lua_tostring(L, -1))
					            : -1;
					if (r >= 0)
						flags |= 1u << r;
					else
						luaL_argerror(L, 3,
						              lua_pushfstring(L, "unknown role %s",
						                              luaL_tolstring(L, -1, NULL)));
					lua_pop(L, 1);
				}
			} else if (strcmp(k, "guest") == 0) {
				flags = lua_toboolean(L, -1) ? flags | AUTHZ_GUEST : flags & ~AUTHZ_GUEST;
			} else if (strcmp(k, "active") == 0) {
				flags = lua_toboolean(L, -1) ? flags | AUTHZ_ACTIVE : flags & ~AUTHZ_ACTIVE;
			} else {
				luaL_argerror(L, 3, lua_pushfstring(L, "unknown field \"%s\"", k));
			}
			lua_pop(L, 1);
		}
	}
	if (authz_put(az, id, has_manager, manager, flags))
		return luaL_error(L, "out of memory");
	lua_pushboolean(L, 1);
	return 1;
}

/** authz.get(id) -> { manager_id =, roles = {...}, guest =, active = } (what put was given, roles
 * in policy order), or nil for someone unknown */
static int l_get(lua_State *L)
{
	authz_t *az = get(L);
	int has_manager;
	int64_t manager;
	unsigned flags;
	if (!authz_get(az, luaL_checkinteger(L, 1), &has_manager, &manager, &flags)) {
		lua_pushnil(L);
		return 1;
	}
	lua_createtable(L, 0, 4);
	if (has_manager) {
		lua_pushinteger(L, manager);
		lua_setfield(L, -2, "manager_id");
	}
	lua_newtable(L);
	int k = 0;
	for (int r = 0; r < authz_role_count(az); r++)
		if (flags & (1u << r)) {
			lua_pushstring(L, authz_role_name(az, r));
			lua_rawseti(L, -2, ++k);
		}
	lua_setfield(L, -2, "roles");
	lua_pushboolean(L, (flags & AUTHZ_GUEST) != 0);
	lua_setfield(L, -2, "guest");
	lua_pushboolean(L, (flags & AUTHZ_ACTIVE) != 0);
	lua_setfield(L, -2, "active");
	return 1;
}

/** authz.needs_rebuild() -> whether the next decision rebuilds the graph (it differs from the
 * one built last) */
static int l_needs_rebuild(lua_State *L)
{
	lua_pushboolean(L, authz_needs_rebuild(get(L)));
	return 1;
}

/** authz.remove(id) -> true, or false when id was not there */
static int l_remove(lua_State *L)
{
	lua_pushboolean(L, authz_remove(get(L), luaL_checkinteger(L, 1)) == 0);
	return 1;
}

/** authz.reset() removes everybody (the policy and flags stay) */
static int l_reset(lua_State *L)
{
	authz_reset(get(L));
	return 0;
}

/** authz.rebuild() recomputes the graph now -> number of manager loops it had to cut */
static int l_rebuild(lua_State *L)
{
	authz_t *az = get(L);
	authz_rebuild(az);
	lua_pushinteger(L, (lua_Integer)authz_loops_cut(az));
	return 1;
}

/** authz.count() -> number of people */
static int l_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)authz_count(get(L)));
	return 1;
}

/** authz.would_loop(id, new_manager_id) -> true when new_manager is id or one of its reports */
static int l_would_loop(lua_State *L)
{
	lua_Integer id = luaL_checkinteger(L, 1);
	if (lua_isnoneornil(L, 2)) {
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushboolean(L, authz_would_loop(get(L), id, luaL_checkinteger(L, 2)));
	return 1;
}

/** authz.relation(actor, subject) -> "self" | "direct_manager" | "indirect_manager" | "above" | "none" */
static int l_relation(lua_State *L)
{
	lua_Integer a = luaL_checkinteger(L, 1), s = luaL_checkinteger(L, 2);
	lua_pushstring(L, authz_rel_name(authz_relation(get(L), a, s)));
	return 1;
}

/** Appends ids to the table on top of the stack. */
typedef struct lister {
	lua_State *L;  /* the state */
	lua_Integer n; /* ids appended */
} lister_t;

static int append_id(int64_t id, void *ud)
{
	lister_t *l = ud;
	lua_pushinteger(l->L, id);
	lua_rawseti(l->L, -2, ++l->n);
	return 0;
}

/** authz.reports(id, direct_only) -> array of ids: direct reports by id, or everyone below in
 * preorder (each manager before their reports) */
static int l_reports(lua_State *L)
{
	lua_Integer id = luaL_checkinteger(L, 1);
	int direct_only = lua_toboolean(L, 2);
	lua_settop(L, 2);
	lua_newtable(L);
	lister_t l = {L, 0};
	authz_reports(get(L), id, direct_only, append_id, &l);
	return 1;
}

/** authz.chain(id) -> array of manager ids, nearest first */
static int l_chain(lua_State *L)
{
	lua_Integer id = luaL_checkinteger(L, 1);
	lua_newtable(L);
	lister_t l = {L, 0};
	authz_chain(get(L), id, append_id, &l);
	return 1;
}

/** authz.set_flag(name, on) sets a policy switch (e.g. "people.assistant_can_change_manager") */
static int l_set_flag(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	if (authz_set_flag(get(L), name, lua_toboolean(L, 2)))
		return luaL_argerror(L, 1, "a flag name is [a-z0-9_.] (and there are at most 64 flags)");
	lua_pushboolean(L, 1);
	return 1;
}

/** authz.flag(name) -> whether the flag is set */
static int l_flag(lua_State *L)
{
	lua_pushboolean(L, authz_flag(get(L), luaL_checkstring(L, 1)));
	return 1;
}

/* ---------------------------------------------------------------- decisions */

/** authz.check(actor, action [, ctx]) -> allowed, rule */
static int l_check(lua_State *L)
{
	authz_t *az = get(L);
	lua_Integer actor = luaL_checkinteger(L, 1);
	int action = action_arg(L, az, 2);
	authz_result_t r;
	if (lua_isnoneornil(L, 3)) {
		authz_check(az, actor, action, NULL, &r);
	} else {
		authz_ctx_t c;
		ctx_arg(L, az, 3, &c);
		authz_check(az, actor, action, &c, &r);
	}
	lua_pushboolean(L, r.allowed);
	lua_pushstring(L, authz_rule_name(az, &r));
	return 2;
}

/** authz.filter(actor, action, subject_ids, ctx) -> the subject ids the actor may act on */
static int l_filter(lua_State *L)
{
	authz_t *az = get(L);
	lua_Integer actor = luaL_checkinteger(L, 1);
	int action = action_arg(L, az, 2);
	luaL_checktype(L, 3, LUA_TTABLE);
	authz_ctx_t c;
	ctx_arg(L, az, 4, &c);
	c.has_subject = 1;
	lua_Integer n = luaL_len(L, 3), out = 0;
	lua_createtable(L, (int)(n < 1024 ? n : 1024), 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, 3, i);
		int isnum;
		c.subject = lua_tointegerx(L, -1, &isnum);
		lua_pop(L, 1);
		if (!isnum)
			return luaL_argerror(L, 3,
			                     lua_pushfstring(L, "entry %d is not an integer id", (int)i));
		authz_result_t r;
		if (authz_check(az, actor, action, &c, &r)) {
			lua_pushinteger(L, c.subject);
			lua_rawseti(L, -2, ++out);
		}
	}
	return 1;
}

/** authz.check_many(actor, actions, kinds, subjects [, parts [, n]]) -> allowed, count: decides n
 * objects at once (n defaults to #subjects). actions maps a kind to an action name, e.g. { public =
 * "objectives.read_public", ... }; object i is of kind kinds[i] (a kind missing from actions, or
 * nil, is denied), about person subjects[i], and the actor's part in it is parts[i] (a part name
 * such as "named", or nil/false for none). allowed is an array of n booleans; count how many are
 * true. The columns of core.db.columns() fit as they are. */
static int l_check_many(lua_State *L)
{
	authz_t *az = get(L);
	lua_Integer actor = luaL_checkinteger(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	luaL_checktype(L, 3, LUA_TTABLE);
	luaL_checktype(L, 4, LUA_TTABLE);
	int has_parts = !lua_isnoneornil(L, 5);
	if (has_parts)
		luaL_checktype(L, 5, LUA_TTABLE);
	lua_Integer n = lua_isnoneornil(L, 6) ? luaL_len(L, 4) : luaL_checkinteger(L, 6);
	luaL_argcheck(L, n >= 0 && n <= 100000000, 6, "a count of objects");
	/* kind -> action index, resolved once (slot 7) */
	lua_settop(L, 6);
	lua_newtable(L);
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		size_t len;
		const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
		if (!name)
			return luaL_argerror(L, 2, "actions maps kinds to action names");
		lua_pushvalue(L, -2);
		lua_pushinteger(L, authz_action_find(az, name, len));
		lua_rawset(L, 7);
		lua_pop(L, 1);
	}
	size_t count = (size_t)n;
	authz_item_t *items = lua_newuserdatauv(L, count ? count * (sizeof *items + 1) : 1, 0); /* slot 8 */
	uint8_t *allowed = (uint8_t *)(items + count);
	for (lua_Integer i = 1; i <= n; i++) {
		authz_item_t *it = &items[i - 1];
		lua_rawgeti(L, 3, i);
		if (lua_isnil(L, -1)) {
			it->action = -1;
		} else {
			lua_rawget(L, 7);
			it->action = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : -1;
		}
		lua_pop(L, 1);
		lua_rawgeti(L, 4, i);
		int isnum;
		it->subject = lua_tointegerx(L, -1, &isnum);
		if (!isnum || lua_type(L, -1) != LUA_TNUMBER)
			return luaL_argerror(L, 4,
			                     lua_pushfstring(L, "entry %d is not an integer id", (int)i));
		lua_pop(L, 1);
		it->rel = 0;
		if (has_parts) {
			lua_rawgeti(L, 5, i);
			if (lua_type(L, -1) == LUA_TSTRING) {
				size_t plen;
				const char *pn = lua_tolstring(L, -1, &plen);
				unsigned bit = part_bit(pn, plen);
				if (!bit)
					return luaL_argerror(L, 5,
					                     lua_pushfstring(L,
					                                     "entry %d: unknown part \"%s\"",
					                                     (int)i, lua_tostring(L, -1)));
				it->rel = (uint8_t)bit;
			} else if (lua_toboolean(L, -1)) {
				return luaL_argerror(
				    L, 5, lua_pushfstring(L, "entry %d: a part name or nil", (int)i));
			}
			lua_pop(L, 1);
		}
	}
	size_t yes = authz_check_many(az, actor, items, count, allowed);
	lua_createtable(L, (int)(n < 0x7fffffff ? n : 0), 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_pushboolean(L, allowed[i - 1]);
		lua_rawseti(L, -2, i);
	}
	lua_pushinteger(L, (lua_Integer)yes);
	return 2;
}

/** authz.explain(actor, action [, ctx]) -> { allowed =, rule =, reason =, relation = } */
static int l_explain(lua_State *L)
{
	authz_t *az = get(L);
	lua_Integer actor = luaL_checkinteger(L, 1);
	int action = action_arg(L, az, 2);
	authz_ctx_t c;
	ctx_arg(L, az, 3, &c);
	const authz_ctx_t *cp = lua_isnoneornil(L, 3) ? NULL : &c;
	authz_result_t r;
	authz_check(az, actor, action, cp, &r);
	char reason[1024];
	authz_explain(az, actor, action, cp, &r, reason, sizeof reason);
	lua_createtable(L, 0, 4);
	lua_pushboolean(L, r.allowed);
	lua_setfield(L, -2, "allowed");
	lua_pushstring(L, authz_rule_name(az, &r));
	lua_setfield(L, -2, "rule");
	lua_pushstring(L, reason);
	lua_setfield(L, -2, "reason");
	lua_pushstring(L, authz_rel_name(r.rel));
	lua_setfield(L, -2, "relation");
	return 1;
}

/** authz.roles_for(action) -> "HR Admin or Tech Admin", "HR Admin + Tech Admin", "Everyone", ...;
 * nil for an action the policy does not name */
static int l_roles_for(lua_State *L)
{
	authz_t *az = get(L);
	int action = action_arg(L, az, 1);
	if (action < 0) {
		lua_pushnil(L);
		return 1;
	}
	char buf[512];
	authz_roles_for(az, action, buf, sizeof buf);
	lua_pushstring(L, buf);
	return 1;
}

static void set_bool(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

/** authz.actions() -> list of { name, section, label, roles = {hr_admin = true|false|"if:flag", ...},
 * all_of = {...} or nil, everyone, confidential, guest_ok, author_ok, self, direct_manager,
 * indirect_manager, why, allowed_for } in policy order */
static int l_actions(lua_State *L)
{
	authz_t *az = get(L);
	size_t n = authz_action_count(az);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		const authz_action_def_t *d = authz_action_at(az, i);
		lua_createtable(L, 0, 16);
		lua_pushstring(L, d->name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, d->section);
		lua_setfield(L, -2, "section");
		lua_pushstring(L, d->label);
		lua_setfield(L, -2, "label");
		lua_pushstring(L, d->why);
		lua_setfield(L, -2, "why");
		lua_createtable(L, 0, authz_role_count(az));
		for (int r = 0; r < authz_role_count(az); r++) {
			if (d->grant[r] == AUTHZ_GRANT_IF)
				lua_pushfstring(L, "if:%s", d->flag[r]);
			else
				lua_pushboolean(L, d->grant[r] == AUTHZ_GRANT_YES);
			lua_setfield(L, -2, authz_role_name(az, r));
		}
		lua_setfield(L, -2, "roles");
		if (d->all_of) {
			lua_newtable(L);
			int k = 0;
			for (int r = 0; r < authz_role_count(az); r++)
				if (d->all_of & (1u << r)) {
					lua_pushstring(L, authz_role_name(az, r));
					lua_rawseti(L, -2, ++k);
				}
			lua_setfield(L, -2, "all_of");
		}
		set_bool(L, "everyone", d->everyone);
		set_bool(L, "confidential", d->confidential);
		set_bool(L, "guest_ok", d->guest_ok);
		set_bool(L, "author_ok", d->author_ok);
		set_bool(L, "self", d->self);
		set_bool(L, "direct_manager", d->direct_manager);
		set_bool(L, "indirect_manager", d->indirect_manager);
		lua_newtable(L);
		static const char *const part_names[] = {"author", "recipient", "named", "participant"};
		static const unsigned part_bits[] = {AUTHZ_AUTHOR, AUTHZ_RECIPIENT, AUTHZ_NAMED,
		                                     AUTHZ_PARTICIPANT};
		for (int k = 0, np = 0; k < 4; k++)
			if (d->parts & part_bits[k]) {
				lua_pushstring(L, part_names[k]);
				lua_rawseti(L, -2, ++np);
			}
		lua_setfield(L, -2, "parts");
		char buf[512];
		authz_roles_for(az, (int)i, buf, sizeof buf);
		lua_pushstring(L, buf);
		lua_setfield(L, -2, "allowed_for");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* ---------------------------------------------------------------- the policy */

/* The policy being given; raises when policy_begin was not called. */
static authz_policy_t *pending(lua_State *L)
{
	authz_policy_t *p = box(L)->pending;
	if (!p)
		luaL_error(L, "no policy is being given (call authz.policy_begin() first)");
	return p;
}

/** authz.policy_begin() starts giving a new policy (a previous unfinished one is dropped); the
 * policy in force stays until policy_commit */
static int l_policy_begin(lua_State *L)
{
	box_t *b = box(L);
	authz_policy_free(b->pending);
	b->pending = authz_policy_new(b->az);
	if (!b->pending)
		return luaL_error(L, "out of memory");
	return 0;
}

/* true, or nil and {code = "policy", message = the problem} */
static int added(lua_State *L, int failed, const char *err)
{
	if (failed)
		return host_fail(L, "policy", "%s", err);
	lua_pushboolean(L, 1);
	return 1;
}

/** authz.add_role(name, label) declares the next role -> true | nil, problem */
static int l_add_role(lua_State *L)
{
	authz_policy_t *p = pending(L);
	char err[256];
	return added(
	    L, authz_policy_add_role(p, luaL_checkstring(L, 1), luaL_checkstring(L, 2), err, sizeof err),
	    err);
}

/** authz.add_cycle_role(name, label, acts_as_mask) declares a cycle role -> true | nil, problem */
static int l_add_cycle_role(lua_State *L)
{
	authz_policy_t *p = pending(L);
	char err[256];
	lua_Integer mask = luaL_checkinteger(L, 3);
	luaL_argcheck(L, mask > 0 && mask <= AUTHZ_ROLES, 3, "a role mask");
	return added(L,
	             authz_policy_add_cycle_role(p, luaL_checkstring(L, 1), luaL_checkstring(L, 2),
	                                         (unsigned)mask, err, sizeof err),
	             err);
}

/** authz.add_action(name, section, label, why, everyone, confidential, guest_ok, author_ok, self,
 * direct_manager, indirect_manager, all_of_mask, grant_1, ..., grant_n): one row of the policy, a
 * grant per declared role in order (true, false, or the name of the flag that allows it) ->
 * true | nil, problem */
static int l_add_action(lua_State *L)
{
	authz_policy_t *p = pending(L);
	authz_action_def_t d;
	memset(&d, 0, sizeof d);
	d.name = luaL_checkstring(L, 1);
	d.section = luaL_checkstring(L, 2);
	d.label = luaL_checkstring(L, 3);
	d.why = luaL_checkstring(L, 4);
	d.everyone = lua_toboolean(L, 5);
	d.confidential = lua_toboolean(L, 6);
	d.guest_ok = lua_toboolean(L, 7);
	d.author_ok = lua_toboolean(L, 8);
	d.self = lua_toboolean(L, 9);
	d.direct_manager = lua_toboolean(L, 10);
	d.indirect_manager = lua_toboolean(L, 11);
	lua_Integer all_of = luaL_optinteger(L, 12, 0);
	luaL_argcheck(L, all_of >= 0 && all_of <= AUTHZ_ROLES, 12, "a role mask");
	d.all_of = (unsigned)all_of;
	int ngrants = lua_gettop(L) - 12;
	if (ngrants > AUTHZ_MAX_ROLES)
		return luaL_error(L, "more grants than roles");
	for (int r = 0; r < ngrants; r++) {
		int i = 13 + r;
		if (lua_type(L, i) == LUA_TSTRING) {
			d.grant[r] = AUTHZ_GRANT_IF;
			d.flag[r] = lua_tostring(L, i);
		} else {
			luaL_checktype(L, i, LUA_TBOOLEAN);
			d.grant[r] = lua_toboolean(L, i) ? AUTHZ_GRANT_YES : AUTHZ_GRANT_NO;
		}
	}
	char err[512];
	return added(L, authz_policy_add(p, &d, err, sizeof err), err);
}

/** authz.set_parts(action, "author" | "recipient" | "named" | "participant", ...): the actor's parts in the
 * object that allow the action outright (an action added before) -> true | nil, problem */
static int l_set_parts(lua_State *L)
{
	authz_policy_t *p = pending(L);
	const char *name = luaL_checkstring(L, 1);
	unsigned parts = 0;
	for (int i = 2; i <= lua_gettop(L); i++) {
		size_t plen;
		const char *pn = luaL_checklstring(L, i, &plen);
		unsigned bit = part_bit(pn, plen);
		luaL_argcheck(L, bit && (bit & AUTHZ_PARTS), i,
		              "a part is author, recipient, named or participant");
		parts |= bit;
	}
	char err[256];
	return added(L, authz_policy_set_parts(p, name, parts, err, sizeof err), err);
}

/** authz.policy_commit() puts the policy given in force -> true */
static int l_policy_commit(lua_State *L)
{
	box_t *b = box(L);
	authz_policy_t *p = pending(L);
	b->pending = NULL;
	authz_set_policy(b->az, p);
	/* intern the rule names so that check's answers do not allocate */
	lua_getfield(L, STATE, "rule_names");
	for (int rule = AUTHZ_RULE_UNKNOWN_ACTOR; rule <= AUTHZ_RULE_LAST; rule++)
		for (unsigned d = 0; d <= AUTHZ_ROLES; d++) {
			authz_result_t r = {0, (authz_rule_t)rule, d, AUTHZ_REL_NONE};
			if (d > 0 && rule != AUTHZ_RULE_ROLE && rule != AUTHZ_RULE_CYCLE_ROLE)
				break;
			lua_pushstring(L, authz_rule_name(b->az, &r));
			lua_pushboolean(L, 1);
			lua_rawset(L, -3);
		}
	lua_pop(L, 1);
	lua_pushboolean(L, 1);
	return 1;
}

/** authz.policy_abort() drops the policy being given (the one in force stays) */
static int l_policy_abort(lua_State *L)
{
	box_t *b = box(L);
	authz_policy_free(b->pending);
	b->pending = NULL;
	return 0;
}

/** authz.roles() -> list of { name =, label = } of the policy in force, in bit order */
static int l_roles(lua_State *L)
{
	authz_t *az = get(L);
	int n = authz_role_count(az);
	lua_createtable(L, n, 0);
	for (int r = 0; r < n; r++) {
		lua_createtable(L, 0, 2);
		lua_pushstring(L, authz_role_name(az, r));
		lua_setfield(L, -2, "name");
		lua_pushstring(L, authz_role_label(az, r));
		lua_setfield(L, -2, "label");
		lua_rawseti(L, -2, r + 1);
	}
	return 1;
}

/** authz.cycle_roles() -> list of { name =, label =, acts_as = { role names } } */
static int l_cycle_roles(lua_State *L)
{
	authz_t *az = get(L);
	int n = authz_cycle_role_count(az);
	lua_createtable(L, n, 0);
	for (int c = 0; c < n; c++) {
		lua_createtable(L, 0, 3);
		lua_pushstring(L, authz_cycle_role_name(az, c));
		lua_setfield(L, -2, "name");
		lua_pushstring(L, authz_cycle_role_label(az, c));
		lua_setfield(L, -2, "label");
		lua_newtable(L);
		unsigned acts = authz_cycle_role_acts_as(az, c);
		for (int r = 0, k = 0; r < authz_role_count(az); r++)
			if (acts & (1u << r)) {
				lua_pushstring(L, authz_role_name(az, r));
				lua_rawseti(L, -2, ++k);
			}
		lua_setfield(L, -2, "acts_as");
		lua_rawseti(L, -2, c + 1);
	}
	return 1;
}

int luaopen_core_authz(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"policy_begin", l_policy_begin},
	    {"add_role", l_add_role},
	    {"add_cycle_role", l_add_cycle_role},
	    {"add_action", l_add_action},
	    {"set_parts", l_set_parts},
	    {"policy_commit", l_policy_commit},
	    {"policy_abort", l_policy_abort},
	    {"roles", l_roles},
	    {"cycle_roles", l_cycle_roles},
	    {"put", l_put},
	    {"get", l_get},
	    {"needs_rebuild", l_needs_rebuild},
	    {"remove", l_remove},
	    {"reset", l_reset},
	    {"rebuild", l_rebuild},
	    {"count", l_count},
	    {"would_loop", l_would_loop},
	    {"relation", l_relation},
	    {"reports", l_reports},
	    {"chain", l_chain},
	    {"set_flag", l_set_flag},
	    {"flag", l_flag},
	    {"check", l_check},
	    {"filter", l_filter},
	    {"check_many", l_check_many},
	    {"explain", l_explain},
	    {"actions", l_actions},
	    {"roles_for", l_roles_for},
	    {NULL, NULL},
	};
	luaL_newlibtable(L, fns);
	box_t *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->pending = NULL;
	b->az = authz_new();
	if (!b->az)
		return luaL_error(L, "out of memory");
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, box_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	/* the state table; policy_commit interns the rule names in it */
	lua_newtable(L);
	lua_newtable(L);
	lua_setfield(L, -2, "rule_names");
	luaL_setfuncs(L, fns, 2);
	return 1;
}
