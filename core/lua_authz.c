/* core.authz: the permission evaluator (core/authz.c) for Lua: policy loading and validation,
 * the org graph, decisions and their explanations. Each Lua state has its own evaluator. */
#include "host.h"

#include "authz.h"

#include <lauxlib.h>
#include <string.h>

/** The evaluator of this Lua state (full userdata, upvalue 1 of every function). */
typedef struct box {
	authz_t *az; /* owned */
} box_t;

/* upvalue 2: a table holding the presets and keeping the rule names interned */
#define STATE lua_upvalueindex(2)

static authz_t *get(lua_State *L)
{
	return ((box_t *)lua_touserdata(L, lua_upvalueindex(1)))->az;
}

static int box_gc(lua_State *L)
{
	box_t *b = lua_touserdata(L, 1);
	authz_free(b->az);
	b->az = NULL;
	return 0;
}

/* ---------------------------------------------------------------- ctx */

static const char *const vis_keys[AUTHZ_VIS_N] = {"self", "direct_manager", "indirect_manager", "hr",
                                                  "reviewer"};

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
static void ctx_arg(lua_State *L, int idx, authz_ctx_t *c)
{
	memset(c, 0, sizeof *c);
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		if (strcmp(k, "subject") == 0) {
			int isnum;
			c->subject = lua_tointegerx(L, -1, &isnum);
			if (!isnum || lua_type(L, -1) != LUA_TNUMBER)
				luaL_argerror(L, idx, "ctx.subject must be an integer id");
			c->has_subject = 1;
		} else if (strcmp(k, "vis") == 0) {
			if (!lua_istable(L, -1))
				luaL_argerror(L, idx, "ctx.vis must be a table");
			c->has_vis = 1;
			int v = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, v)) {
				const char *vk = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
				int i = 0;
				while (i < AUTHZ_VIS_N && strcmp(vk, vis_keys[i]) != 0)
					i++;
				if (i < AUTHZ_VIS_N)
					c->vis[i] = (uint8_t)level_arg(L, lua_gettop(L), idx, vk);
				else
					luaL_argerror(L, idx,
					              lua_pushfstring(L, "unknown ctx.vis party \"%s\"", vk));
				lua_pop(L, 1);
			}
		} else if (strcmp(k, "stage") == 0) {
			authz_stage_t st;
			if (lua_type(L, -1) != LUA_TSTRING || authz_stage_parse(lua_tostring(L, -1), &st))
				luaL_argerror(
				    L, idx, "ctx.stage must be draft, submitted, released, shared or signed");
			c->stage = (uint8_t)st;
		} else if (strcmp(k, "cycle_role") == 0) {
			const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
			if (strcmp(s, "admin") == 0)
				c->cycle_role = AUTHZ_CYCLE_ADMIN;
			else if (strcmp(s, "assistant") == 0)
				c->cycle_role = AUTHZ_CYCLE_ASSISTANT;
			else if (lua_toboolean(L, -1))
				luaL_argerror(L, idx,
				              "ctx.cycle_role must be \"admin\", \"assistant\" or nil");
		} else if (strcmp(k, "rel") == 0) {
			if (!lua_istable(L, -1))
				luaL_argerror(L, idx, "ctx.rel must be a table");
			int v = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, v)) {
				const char *rk = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
				unsigned bit = strcmp(rk, "author") == 0           ? AUTHZ_AUTHOR
				               : strcmp(rk, "reviewer") == 0       ? AUTHZ_REVIEWER
				               : strcmp(rk, "guest_reviewer") == 0 ? AUTHZ_GUEST_REVIEWER
				                                                   : 0;
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
					            ? authz_role_parse(lua_tostring(L, -1))
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
		ctx_arg(L, 3, &c);
		authz_check(az, actor, action, &c, &r);
	}
	lua_pushboolean(L, r.allowed);
	lua_pushstring(L, authz_rule_name(&r));
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
	ctx_arg(L, 4, &c);
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

/** authz.explain(actor, action [, ctx]) -> { allowed =, rule =, reason =, relation = } */
static int l_explain(lua_State *L)
{
	authz_t *az = get(L);
	lua_Integer actor = luaL_checkinteger(L, 1);
	int action = action_arg(L, az, 2);
	authz_ctx_t c;
	ctx_arg(L, 3, &c);
	const authz_ctx_t *cp = lua_isnoneornil(L, 3) ? NULL : &c;
	authz_result_t r;
	authz_check(az, actor, action, cp, &r);
	char reason[1024];
	authz_explain(az, actor, action, cp, &r, reason, sizeof reason);
	lua_createtable(L, 0, 4);
	lua_pushboolean(L, r.allowed);
	lua_setfield(L, -2, "allowed");
	lua_pushstring(L, authz_rule_name(&r));
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
		lua_createtable(L, 0, AUTHZ_NROLES);
		for (int r = 0; r < AUTHZ_NROLES; r++) {
			if (d->grant[r] == AUTHZ_GRANT_IF)
				lua_pushfstring(L, "if:%s", d->flag[r]);
			else
				lua_pushboolean(L, d->grant[r] == AUTHZ_GRANT_YES);
			lua_setfield(L, -2, authz_role_name(r));
		}
		lua_setfield(L, -2, "roles");
		if (d->all_of) {
			lua_newtable(L);
			int k = 0;
			for (int r = 0; r < AUTHZ_NROLES; r++)
				if (d->all_of & (1u << r)) {
					lua_pushstring(L, authz_role_name(r));
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
		char buf[512];
		authz_roles_for(az, (int)i, buf, sizeof buf);
		lua_pushstring(L, buf);
		lua_setfield(L, -2, "allowed_for");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* ---------------------------------------------------------------- policy loading */

/** Where a policy problem is reported from. */
typedef struct where {
	char msg[768]; /* the error, once there is one */
} where_t;

/* Checks that the table at idx is a list (keys 1..n only); returns n or -1 with w->msg set. */
static lua_Integer list_len(lua_State *L, int idx, const char *file, where_t *w)
{
	if (!lua_istable(L, idx)) {
		snprintf(w->msg, sizeof w->msg, "%s: must return a list of entries, got a %s", file,
		         luaL_typename(L, idx));
		return -1;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
			snprintf(w->msg, sizeof w->msg, "%s: must be a list of entries, found key %s", file,
			         luaL_tolstring(L, -1, NULL));
			lua_pop(L, 2);
			return -1;
		}
	}
	return n;
}

static const char *const action_fields[] = {
    "section",          "action",   "label",        "why",      "hr_admin",  "hr_assistant", "tech_admin",
    "all_of",           "everyone", "confidential", "guest_ok", "author_ok", "self",         "direct_manager",
    "indirect_manager", NULL,
};

/* Reads entry (table on top of the stack) into d. 0, or -1 with the problem in prob. */
static int read_action(lua_State *L, authz_action_def_t *d, int *seen_roles, char *prob, size_t plen)
{
	int e = lua_gettop(L);
	memset(d, 0, sizeof *d);
	*seen_roles = 0;
	lua_getfield(L, e, "action");
	d->name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, e)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		int f = 0;
		while (k && action_fields[f] && strcmp(k, action_fields[f]) != 0)
			f++;
		if (!k || !action_fields[f]) {
			snprintf(prob, plen, "unknown field \"%s\"", luaL_tolstring(L, -2, NULL));
			goto fail;
		}
		int t = lua_type(L, -1);
		int r = authz_role_parse(k);
		if (f <= 3) { /* section, action, label, why */
			if (t != LUA_TSTRING) {
				snprintf(prob, plen, "field %s must be a string", k);
				goto fail;
			}
			const char *s = lua_tostring(L, -1);
			if (f == 0)
				d->section = s;
			else if (f == 2)
				d->label = s;
			else if (f == 3)
				d->why = s;
		} else if (r >= 0) {
			*seen_roles |= 1 << r;
			if (t == LUA_TBOOLEAN) {
				d->grant[r] = lua_toboolean(L, -1) ? AUTHZ_GRANT_YES : AUTHZ_GRANT_NO;
			} else if (t == LUA_TSTRING && strncmp(lua_tostring(L, -1), "if:", 3) == 0) {
				d->grant[r] = AUTHZ_GRANT_IF;
				d->flag[r] = lua_tostring(L, -1) + 3;
			} else {
				snprintf(prob, plen, "field %s must be true, false or \"if:<flag>\"", k);
				goto fail;
			}
		} else if (strcmp(k, "all_of") == 0) {
			if (t != LUA_TTABLE) {
				snprintf(prob, plen, "field all_of must be a list of roles");
				goto fail;
			}
			lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
			for (lua_Integer i = 1; i <= n; i++) {
				lua_rawgeti(L, -1, i);
				int ar = lua_type(L, -1) == LUA_TSTRING
				             ? authz_role_parse(lua_tostring(L, -1))
				             : -1;
				if (ar < 0) {
					snprintf(prob, plen, "field all_of: unknown role \"%s\"",
					         luaL_tolstring(L, -1, NULL));
					goto fail;
				}
				d->all_of |= 1u << ar;
				lua_pop(L, 1);
			}
		} else { /* the booleans */
			if (t != LUA_TBOOLEAN) {
				snprintf(prob, plen, "field %s must be true or false", k);
				goto fail;
			}
			int v = lua_toboolean(L, -1);
			if (strcmp(k, "everyone") == 0)
				d->everyone = v;
			else if (strcmp(k, "confidential") == 0)
				d->confidential = v;
			else if (strcmp(k, "guest_ok") == 0)
				d->guest_ok = v;
			else if (strcmp(k, "author_ok") == 0)
				d->author_ok = v;
			else if (strcmp(k, "self") == 0)
				d->self = v;
			else if (strcmp(k, "direct_manager") == 0)
				d->direct_manager = v;
			else
				d->indirect_manager = v;
		}
		lua_pop(L, 1);
	}
	for (int r = 0; r < AUTHZ_NROLES; r++)
		if (!(*seen_roles & (1 << r))) {
			snprintf(prob, plen,
			         "missing field %s (decide the cell: true, false or \"if:<flag>\")",
			         authz_role_name(r));
			return -1;
		}
	return 0;
fail:
	lua_settop(L, e);
	return -1;
}

static const char *const preset_kinds[] = {"review", "feedback", "objective", NULL};
static const char *const preset_text[] = {"kind", "name", "label", "description", NULL};

/* Validates the visibility presets at idx and leaves the normalised table on the stack:
 * { review = { {name=, label=, description=, vis = {self=..., ...}}, ... }, feedback = ..., ... }.
 * 0, or -1 with w->msg set (nothing pushed). */
static int read_presets(lua_State *L, int idx, const char *file, where_t *w)
{
	lua_Integer n = list_len(L, idx, file, w);
	if (n < 0)
		return -1;
	int top = lua_gettop(L);
	lua_newtable(L);
	int out = top + 1;
	for (int k = 0; preset_kinds[k]; k++) {
		lua_newtable(L);
		lua_setfield(L, out, preset_kinds[k]);
	}
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, i);
		int e = lua_gettop(L);
		const char *label = "no name";
		if (!lua_istable(L, e)) {
			snprintf(w->msg, sizeof w->msg, "%s: entry %d: must be a table", file, (int)i);
			goto fail;
		}
		lua_getfield(L, e, "name");
		if (lua_type(L, -1) == LUA_TSTRING)
			label = lua_tostring(L, -1);
		lua_pop(L, 1);   /* still referenced by the entry */
		lua_newtable(L); /* the preset */
		lua_newtable(L); /* its vis */
		int seen = 0, have_text = 0;
		lua_pushnil(L);
		while (lua_next(L, e)) {
			const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
			int vi = 0, ti = 0;
			while (key && vi < AUTHZ_VIS_N && strcmp(key, vis_keys[vi]) != 0)
				vi++;
			while (key && preset_text[ti] && strcmp(key, preset_text[ti]) != 0)
				ti++;
			if (key && vi < AUTHZ_VIS_N) {
				authz_level_t lv;
				if (lua_type(L, -1) != LUA_TSTRING ||
				    authz_level_parse(lua_tostring(L, -1), &lv)) {
					snprintf(
					    w->msg, sizeof w->msg,
					    "%s: entry %d (%s): field %s: bad level \"%s\" (never, always, "
					    "after_submit, after_release, after_share or after_sign)",
					    file, (int)i, label, key, luaL_tolstring(L, -1, NULL));
					goto fail;
				}
				seen |= 1 << vi;
				lua_pushvalue(L, -2);
				lua_pushvalue(L, -2);
				lua_settable(L, e + 2);
			} else if (key && preset_text[ti]) {
				if (lua_type(L, -1) != LUA_TSTRING || !*lua_tostring(L, -1)) {
					snprintf(w->msg, sizeof w->msg,
					         "%s: entry %d (%s): field %s must be a non-empty string",
					         file, (int)i, label, key);
					goto fail;
				}
				have_text |= 1 << ti;
				if (ti > 0) { /* kind goes to the outer table */
					lua_pushvalue(L, -2);
					lua_pushvalue(L, -2);
					lua_settable(L, e + 1);
				}
			} else {
				snprintf(w->msg, sizeof w->msg, "%s: entry %d (%s): unknown field \"%s\"",
				         file, (int)i, label, luaL_tolstring(L, -2, NULL));
				goto fail;
			}
			lua_pop(L, 1);
		}
		for (int ti = 0; preset_text[ti]; ti++)
			if (!(have_text & (1 << ti))) {
				snprintf(w->msg, sizeof w->msg, "%s: entry %d (%s): missing %s", file, (int)i,
				         label, preset_text[ti]);
				goto fail;
			}
		for (int vi = 0; vi < AUTHZ_VIS_N; vi++)
			if (!(seen & (1 << vi))) {
				snprintf(w->msg, sizeof w->msg, "%s: entry %d (%s): missing level %s", file,
				         (int)i, label, vis_keys[vi]);
				goto fail;
			}
		lua_setfield(L, e + 1, "vis");
		lua_getfield(L, e, "kind");
		const char *kind = lua_tostring(L, -1);
		int ki = 0;
		while (preset_kinds[ki] && strcmp(kind, preset_kinds[ki]) != 0)
			ki++;
		if (!preset_kinds[ki]) {
			snprintf(w->msg, sizeof w->msg,
			         "%s: entry %d (%s): unknown kind \"%s\" (review, feedback or objective)",
			         file, (int)i, label, kind);
			goto fail;
		}
		lua_pop(L, 1);
		lua_getfield(L, out, preset_kinds[ki]); /* list of that kind */
		lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
		for (lua_Integer j = 1; j <= m; j++) {
			lua_rawgeti(L, -1, j);
			lua_getfield(L, -1, "name");
			int dup = strcmp(lua_tostring(L, -1), label) == 0;
			lua_pop(L, 2);
			if (dup) {
				snprintf(w->msg, sizeof w->msg,
				         "%s: entry %d (%s): duplicate %s preset \"%s\"", file, (int)i, label,
				         preset_kinds[ki], label);
				goto fail;
			}
		}
		lua_pushvalue(L, e + 1);
		lua_rawseti(L, -2, m + 1);
		lua_settop(L, e - 1);
	}
	return 0;
fail:
	lua_settop(L, top);
	return -1;
}

/* Deep copy of the plain-data table at idx (strings, booleans and nested tables). */
static void copy_table(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_newtable(L);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pushvalue(L, -2);
		if (lua_istable(L, -2))
			copy_table(L, -2);
		else
			lua_pushvalue(L, -2);
		lua_settable(L, -5);
		lua_pop(L, 1);
	}
}

/** authz.load_policy(roles, visibility [, { roles = "file", visibility = "file" }]) validates both
 * tables and puts them in force -> true; raises {code = "policy", message = "file: entry N
 * (action): problem"} and keeps the previous policy when one is invalid. */
static int l_load_policy(lua_State *L)
{
	authz_t *az = get(L);
	const char *roles_file = "roles.lua", *vis_file = "visibility.lua";
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_getfield(L, 3, "roles");
		if (lua_isstring(L, -1))
			roles_file = lua_tostring(L, -1);
		lua_getfield(L, 3, "visibility");
		if (lua_isstring(L, -1))
			vis_file = lua_tostring(L, -1);
		lua_pop(L, 2); /* the strings stay referenced by the names table */
	}
	lua_settop(L, 3);
	where_t w;
	w.msg[0] = 0;
	authz_policy_t *p = NULL;
	lua_Integer n = list_len(L, 1, roles_file, &w);
	if (n < 0)
		goto fail;
	if (n == 0) {
		snprintf(w.msg, sizeof w.msg, "%s: has no entries", roles_file);
		goto fail;
	}
	p = authz_policy_new(az);
	if (!p) {
		snprintf(w.msg, sizeof w.msg, "out of memory");
		goto fail;
	}
	for (lua_Integer i = 1; i <= n; i++) {
		char prob[512];
		authz_action_def_t d;
		int seen;
		lua_rawgeti(L, 1, i);
		if (!lua_istable(L, -1)) {
			snprintf(w.msg, sizeof w.msg, "%s: entry %d: must be a table, got a %s", roles_file,
			         (int)i, luaL_typename(L, -1));
			goto fail;
		}
		lua_getfield(L, -1, "action");
		const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "no action";
		lua_pop(L, 1);
		if (read_action(L, &d, &seen, prob, sizeof prob) ||
		    authz_policy_add(p, &d, prob, sizeof prob)) {
			snprintf(w.msg, sizeof w.msg, "%s: entry %d (%s): %s", roles_file, (int)i, name,
			         prob);
			goto fail;
		}
		lua_pop(L, 1);
	}
	if (read_presets(L, 2, vis_file, &w))
		goto fail;
	lua_setfield(L, STATE, "presets");
	authz_set_policy(az, p);
	lua_pushboolean(L, 1);
	return 1;
fail:
	authz_policy_free(p);
	return host_error(L, "policy", "%s", w.msg);
}

/** authz.presets() -> { review = { {name, label, description, vis = {...}}, ... }, feedback = ..., objective
 * = ... } (a copy; empty lists before load_policy) */
static int l_presets(lua_State *L)
{
	lua_getfield(L, STATE, "presets");
	if (lua_isnil(L, -1)) {
		lua_newtable(L);
		for (int k = 0; preset_kinds[k]; k++) {
			lua_newtable(L);
			lua_setfield(L, -2, preset_kinds[k]);
		}
		return 1;
	}
	copy_table(L, -1);
	return 1;
}

/** authz.preset(kind, name) -> a copy of that preset's vis table (ready for ctx.vis), or nil */
static int l_preset(lua_State *L)
{
	const char *kind = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
	lua_getfield(L, STATE, "presets");
	if (lua_isnil(L, -1) || lua_getfield(L, -1, kind) != LUA_TTABLE) {
		lua_pushnil(L);
		return 1;
	}
	lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
	for (lua_Integer j = 1; j <= m; j++) {
		lua_rawgeti(L, -1, j);
		lua_getfield(L, -1, "name");
		if (strcmp(lua_tostring(L, -1), name) == 0) {
			lua_getfield(L, -2, "vis");
			copy_table(L, -1);
			return 1;
		}
		lua_pop(L, 2);
	}
	lua_pushnil(L);
	return 1;
}

int luaopen_core_authz(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"load_policy", l_load_policy},
	    {"presets", l_presets},
	    {"preset", l_preset},
	    {"put", l_put},
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
	    {"explain", l_explain},
	    {"actions", l_actions},
	    {"roles_for", l_roles_for},
	    {NULL, NULL},
	};
	luaL_newlibtable(L, fns);
	box_t *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->az = authz_new();
	if (!b->az)
		return luaL_error(L, "out of memory");
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, box_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	/* the state table; its rule names stay interned so check's answers do not allocate */
	lua_newtable(L);
	lua_newtable(L);
	for (int rule = AUTHZ_RULE_UNKNOWN_ACTOR; rule <= AUTHZ_RULE_NO_RELATION; rule++) {
		for (unsigned d = 0; d < 8; d++) {
			authz_result_t r = {0, (authz_rule_t)rule, d, AUTHZ_REL_NONE};
			lua_pushstring(L, authz_rule_name(&r));
			lua_pushboolean(L, 1);
			lua_rawset(L, -3);
		}
	}
	lua_setfield(L, -2, "rule_names");
	luaL_setfuncs(L, fns, 2);
	return 1;
}
