/* Unit tests of the permission evaluator (core/authz.c): the org graph and the decision
 * algorithm rule by rule, with a small policy built here (not the one in policies/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authz.h"

/* The roles the tests declare (as policies/roles_list.lua does), in bit order. */
enum { A = AUTHZ_ACTIVE, HRA = 1u << 0, HRS = 1u << 1, TA = 1u << 2 };
/* The cycle roles the tests declare: ctx.cycle_role values. */
enum { CYCLE_ADMIN = 1, CYCLE_ASSISTANT = 2 };

/* put with a manager (m >= 0) or without (m < 0) */
static void put(authz_t *az, int64_t id, int64_t m, unsigned flags)
{
	assert_int_equal(authz_put(az, id, m >= 0, m, flags), 0);
}

/* Collects ids from authz_reports / authz_chain. */
typedef struct ids {
	int64_t v[256]; /* the ids */
	int n;          /* how many */
} ids_t;

static int collect(int64_t id, void *ud)
{
	ids_t *l = ud;
	if (l->n < 256)
		l->v[l->n++] = id;
	return 0;
}

static ids_t reports(authz_t *az, int64_t id, int direct)
{
	ids_t l = {{0}, 0};
	authz_reports(az, id, direct, collect, &l);
	return l;
}

static ids_t chain(authz_t *az, int64_t id)
{
	ids_t l = {{0}, 0};
	authz_chain(az, id, collect, &l);
	return l;
}

static void assert_ids(ids_t l, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	assert_int_equal(l.n, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(l.v[i], va_arg(ap, int));
	va_end(ap);
}

/*      1            10
 *    /   \           |
 *   2     3         11
 *  / \    |
 * 5   4   6
 *         |
 *         7          */
static authz_t *small_company(void)
{
	authz_t *az = authz_new();
	assert_non_null(az);
	put(az, 7, 6, A);
	put(az, 1, -1, A);
	put(az, 3, 1, A);
	put(az, 5, 2, A);
	put(az, 2, 1, A);
	put(az, 4, 2, A);
	put(az, 6, 3, A);
	put(az, 10, -1, A);
	put(az, 11, 10, A);
	return az;
}

static void test_relations_in_a_tree(void **state)
{
	authz_t *az = small_company();
	assert_int_equal(authz_count(az), 9);
	assert_int_equal(authz_relation(az, 1, 1), AUTHZ_REL_SELF);
	assert_int_equal(authz_relation(az, 1, 2), AUTHZ_REL_DIRECT_MANAGER);
	assert_int_equal(authz_relation(az, 1, 7), AUTHZ_REL_INDIRECT_MANAGER);
	assert_int_equal(authz_relation(az, 3, 7), AUTHZ_REL_INDIRECT_MANAGER);
	assert_int_equal(authz_relation(az, 7, 1), AUTHZ_REL_ABOVE);
	assert_int_equal(authz_relation(az, 7, 6), AUTHZ_REL_ABOVE);
	assert_int_equal(authz_relation(az, 2, 3), AUTHZ_REL_NONE);
	assert_int_equal(authz_relation(az, 5, 4), AUTHZ_REL_NONE);
	assert_int_equal(authz_relation(az, 2, 7), AUTHZ_REL_NONE);
	assert_int_equal(authz_relation(az, 1, 99), AUTHZ_REL_NONE);
	assert_int_equal(authz_loops_cut(az), 0);
	authz_free(az);
}

static void test_reports_and_chain(void **state)
{
	authz_t *az = small_company();
	assert_ids(reports(az, 2, 1), 2, 4, 5); /* direct reports by ascending id */
	assert_ids(reports(az, 1, 1), 2, 2, 3);
	assert_ids(reports(az, 1, 0), 6, 2, 4, 5, 3, 6, 7); /* preorder */
	assert_ids(reports(az, 7, 0), 0);
	assert_ids(reports(az, 99, 0), 0);
	assert_ids(chain(az, 7), 3, 6, 3, 1);
	assert_ids(chain(az, 1), 0);
	assert_ids(chain(az, 11), 1, 10);
	authz_free(az);
}

static void test_forest_roots_are_separate(void **state)
{
	authz_t *az = small_company();
	assert_int_equal(authz_relation(az, 1, 11), AUTHZ_REL_NONE);
	assert_int_equal(authz_relation(az, 10, 7), AUTHZ_REL_NONE);
	assert_int_equal(authz_relation(az, 11, 10), AUTHZ_REL_ABOVE);
	assert_false(authz_would_loop(az, 1, 11));
	authz_free(az);
}

static void test_moving_a_manager_moves_the_whole_team(void **state)
{
	authz_t *az = small_company();
	put(az, 3, 11, A); /* 3 (with 6 and 7) now reports to 11 */
	authz_rebuild(az);
	assert_int_equal(authz_relation(az, 1, 7), AUTHZ_REL_NONE);
	assert_int_equal(authz_relation(az, 10, 7), AUTHZ_REL_INDIRECT_MANAGER);
	assert_int_equal(authz_relation(az, 11, 3), AUTHZ_REL_DIRECT_MANAGER);
	assert_ids(chain(az, 7), 4, 6, 3, 11, 10);
	assert_ids(reports(az, 1, 0), 3, 2, 4, 5);
	/* without an explicit rebuild, queries see the change too */
	put(az, 10, 5, A);
	assert_int_equal(authz_relation(az, 1, 7), AUTHZ_REL_INDIRECT_MANAGER);
	assert_ids(chain(az, 7), 7, 6, 3, 11, 10, 5, 2, 1);
	/* a roles-only change keeps the graph */
	put(az, 10, 5, A | HRA);
	assert_int_equal(authz_flags(az, 10), A | HRA);
	assert_int_equal(authz_relation(az, 2, 11), AUTHZ_REL_INDIRECT_MANAGER);
	authz_free(az);
}

static void test_would_loop(void **state)
{
	authz_t *az = small_company();
	assert_true(authz_would_loop(az, 3, 3));  /* own manager */
	assert_true(authz_would_loop(az, 3, 6));  /* a direct report */
	assert_true(authz_would_loop(az, 1, 7));  /* an indirect report */
	assert_false(authz_would_loop(az, 7, 1)); /* someone above: fine */
	assert_false(authz_would_loop(az, 3, 2)); /* a sibling: fine */
	assert_false(authz_would_loop(az, 3, 11));
	assert_false(authz_would_loop(az, 3, 99)); /* unknown manager cannot loop */
	put(az, 3, 2, A);
	assert_true(authz_would_loop(az, 2, 7)); /* 7 is below 2 now */
	authz_free(az);
}

static void test_removal_leaves_roots_until_the_id_returns(void **state)
{
	authz_t *az = small_company();
	assert_int_equal(authz_remove(az, 3), 0);
	assert_int_equal(authz_remove(az, 3), -1);
	assert_int_equal(authz_count(az), 8);
	assert_int_equal(authz_relation(az, 1, 6), AUTHZ_REL_NONE);
	assert_ids(chain(az, 7), 1, 6);
	assert_ids(reports(az, 1, 0), 3, 2, 4, 5);
	put(az, 3, 1, A);
	assert_ids(chain(az, 7), 3, 6, 3, 1);
	/* an unknown manager makes a root until they arrive */
	put(az, 20, 21, A);
	assert_ids(chain(az, 20), 0);
	put(az, 21, 1, A);
	assert_ids(chain(az, 20), 2, 21, 1);
	authz_reset(az);
	assert_int_equal(authz_count(az), 0);
	assert_int_equal(authz_relation(az, 1, 2), AUTHZ_REL_NONE);
	authz_free(az);
}

static void test_manager_loops_in_the_input_are_cut(void **state)
{
	authz_t *az = authz_new();
	put(az, 1, 1, A); /* own manager */
	put(az, 2, 3, A); /* 2 -> 3 -> 4 -> 2 */
	put(az, 3, 4, A);
	put(az, 4, 2, A);
	put(az, 5, 4, A); /* hangs below the loop */
	put(az, 6, 5, A);
	put(az, 7, -1, A); /* a healthy tree */
	put(az, 8, 7, A);
	authz_rebuild(az);
	assert_int_equal(authz_loops_cut(az), 2);
	/* every answer terminates and stays consistent with a tree */
	for (int64_t a = 1; a <= 8; a++) {
		ids_t c = chain(az, a);
		assert_true(c.n < 8);
		for (int i = 0; i < c.n; i++) {
			assert_int_not_equal(c.v[i], a);
			assert_true(authz_relation(az, c.v[i], a) == AUTHZ_REL_DIRECT_MANAGER ||
			            authz_relation(az, c.v[i], a) == AUTHZ_REL_INDIRECT_MANAGER);
		}
	}
	assert_ids(chain(az, 1), 0);
	assert_int_equal(authz_relation(az, 4, 6), AUTHZ_REL_INDIRECT_MANAGER);
	assert_int_equal(authz_relation(az, 8, 7), AUTHZ_REL_ABOVE);
	/* fixing the input removes the cut */
	put(az, 2, -1, A);
	put(az, 1, -1, A);
	authz_rebuild(az);
	assert_int_equal(authz_loops_cut(az), 0);
	assert_ids(chain(az, 6), 3, 5, 4, 2);
	authz_free(az);
}

static void test_many_ids_survive_removals(void **state)
{
	authz_t *az = authz_new();
	const int n = 20000;
	uint64_t x = 88172645463325252ULL;
	int64_t *ids = malloc(sizeof *ids * (size_t)n);
	for (int i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		ids[i] = (int64_t)(x >> 1) * (i % 2 ? -1 : 1) + i; /* distinct enough, negative too */
		put(az, ids[i], i ? ids[(i - 1) / 2] : -1, A);
	}
	assert_int_equal(authz_count(az), n);
	for (int i = 0; i < n; i += 2)
		assert_int_equal(authz_remove(az, ids[i]), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(authz_find(az, ids[i]) >= 0, i % 2 == 1);
	assert_int_equal(authz_count(az), n / 2);
	authz_free(az);
	free(ids);
}

static void test_a_very_deep_chain_needs_no_recursion(void **state)
{
	authz_t *az = authz_new();
	const int n = 100000;
	for (int i = 1; i <= n; i++)
		put(az, i, i > 1 ? i - 1 : -1, A);
	authz_rebuild(az);
	assert_int_equal(authz_relation(az, 1, n), AUTHZ_REL_INDIRECT_MANAGER);
	assert_int_equal(authz_relation(az, n, 1), AUTHZ_REL_ABOVE);
	assert_true(authz_would_loop(az, 2, n));
	ids_t c = chain(az, n);
	assert_int_equal(c.n, 256); /* collect caps; the walk itself goes all the way */
	assert_int_equal(authz_chain(az, n, collect, &(ids_t){{0}, 0}), n - 1);
	assert_int_equal(authz_reports(az, 1, 0, collect, &(ids_t){{0}, 0}), n - 1);
	authz_free(az);
}

/* ---------------------------------------------------------------- decisions */

/* Declares the three roles and the two cycle roles. */
static void declare_roles(authz_policy_t *p)
{
	char err[256];
	assert_int_equal(authz_policy_add_role(p, "hr_admin", "HR Admin", err, sizeof err), 0);
	assert_int_equal(authz_policy_add_role(p, "hr_assistant", "HR Assistant", err, sizeof err), 0);
	assert_int_equal(authz_policy_add_role(p, "tech_admin", "Tech Admin", err, sizeof err), 0);
	assert_int_equal(authz_policy_add_cycle_role(p, "admin", "Cycle admin", HRA, err, sizeof err), 0);
	assert_int_equal(authz_policy_add_cycle_role(p, "assistant", "Cycle assistant", HRS, err, sizeof err),
	                 0);
}

static void add(authz_policy_t *p, authz_action_def_t d)
{
	char err[256];
	d.section = d.section ? d.section : "Test";
	d.label = d.label ? d.label : d.name;
	d.why = d.why ? d.why : "because";
	if (authz_policy_add(p, &d, err, sizeof err))
		fail_msg("policy_add %s: %s", d.name, err);
}

/* A policy exercising every kind of cell. */
static authz_t *with_policy(void)
{
	authz_t *az = small_company();
	authz_policy_t *p = authz_policy_new(az);
	declare_roles(p);
	add(p,
	    (authz_action_def_t){.name = "t.hr", .grant = {AUTHZ_GRANT_YES, AUTHZ_GRANT_NO, AUTHZ_GRANT_NO}});
	add(p, (authz_action_def_t){.name = "t.tech_or_hr",
	                            .grant = {AUTHZ_GRANT_YES, AUTHZ_GRANT_NO, AUTHZ_GRANT_YES}});
	add(p, (authz_action_def_t){.name = "t.flagged",
	                            .grant = {AUTHZ_GRANT_YES, AUTHZ_GRANT_IF, AUTHZ_GRANT_NO},
	                            .flag = {NULL, "t.assistants_may", NULL}});
	add(p, (authz_action_def_t){.name = "t.super", .all_of = HRA | TA});
	add(p, (authz_action_def_t){.name = "t.everyone", .everyone = 1, .guest_ok = 1});
	add(p, (authz_action_def_t){.name = "t.read",
	                            .grant = {AUTHZ_GRANT_YES},
	                            .confidential = 1,
	                            .guest_ok = 1,
	                            .author_ok = 1,
	                            .self = 1,
	                            .direct_manager = 1,
	                            .indirect_manager = 1});
	add(p,
	    (authz_action_def_t){.name = "t.manager_only", .grant = {AUTHZ_GRANT_YES}, .direct_manager = 1});
	add(p, (authz_action_def_t){.name = "t.edit", .grant = {AUTHZ_GRANT_YES}}); /* not confidential */
	authz_set_policy(az, p);
	return az;
}

static int act(authz_t *az, const char *name)
{
	int i = authz_action_find(az, name, strlen(name));
	assert_true(i >= 0);
	return i;
}

/* checks and returns the rule name */
static const char *rule(authz_t *az, int64_t actor, const char *action, const authz_ctx_t *ctx, int expect)
{
	static authz_result_t r;
	int i = authz_action_find(az, action, strlen(action));
	int got = authz_check(az, actor, i, ctx, &r);
	if (got != expect)
		fail_msg("%lld %s: expected %s, got %s (%s)", (long long)actor, action,
		         expect ? "allow" : "deny", got ? "allow" : "deny", authz_rule_name(az, &r));
	assert_int_equal(r.allowed, got);
	return authz_rule_name(az, &r);
}

static void test_rule_1_unknown_inactive_unknown_action(void **state)
{
	authz_t *az = with_policy();
	assert_string_equal(rule(az, 99, "t.everyone", NULL, 0), "unknown_actor");
	put(az, 5, 2, HRA); /* not active */
	assert_string_equal(rule(az, 5, "t.hr", NULL, 0), "inactive");
	assert_string_equal(rule(az, 5, "t.everyone", NULL, 0), "inactive");
	put(az, 4, 2, A | HRA | TA);
	assert_string_equal(rule(az, 4, "t.nothing", NULL, 0), "unknown_action");
	authz_free(az);
}

static void test_rule_2_guests(void **state)
{
	authz_t *az = with_policy();
	put(az, 50, -1, A | AUTHZ_GUEST | HRA); /* a role does not help a guest */
	authz_ctx_t c = {0};
	assert_string_equal(rule(az, 50, "t.everyone", NULL, 0), "guest");
	assert_string_equal(rule(az, 50, "t.hr", NULL, 0), "guest");
	assert_string_equal(rule(az, 50, "t.everyone", &c, 0), "guest");
	c.rel = AUTHZ_REVIEWER; /* a reviewer, but not as a guest reviewer or author */
	assert_string_equal(rule(az, 50, "t.read", &c, 0), "guest");
	c.rel = AUTHZ_GUEST_REVIEWER;
	assert_string_equal(rule(az, 50, "t.read", &c, 1), "guest_reviewer");
	assert_string_equal(rule(az, 50, "t.hr", &c, 0), "guest"); /* not guest_ok */
	c.rel = AUTHZ_AUTHOR;
	assert_string_equal(rule(az, 50, "t.everyone", &c, 1), "guest_reviewer");
	put(az, 50, -1, AUTHZ_GUEST | AUTHZ_AUTHOR); /* an inactive guest */
	assert_string_equal(rule(az, 50, "t.read", &c, 0), "inactive");
	authz_free(az);
}

static void test_rule_3_global_actions(void **state)
{
	authz_t *az = with_policy();
	put(az, 2, 1, A | HRA);
	put(az, 3, 1, A | TA);
	put(az, 4, 2, A | HRS);
	put(az, 5, 2, A | HRA | TA);
	assert_string_equal(rule(az, 2, "t.hr", NULL, 1), "role:hr_admin");
	assert_string_equal(rule(az, 3, "t.hr", NULL, 0), "no_role");
	assert_string_equal(rule(az, 7, "t.hr", NULL, 0), "no_role");
	assert_string_equal(rule(az, 3, "t.tech_or_hr", NULL, 1), "role:tech_admin");
	assert_string_equal(rule(az, 5, "t.tech_or_hr", NULL, 1), "role:hr_admin");
	assert_string_equal(rule(az, 7, "t.everyone", NULL, 1), "everyone");
	assert_string_equal(rule(az, 2, "t.everyone", NULL, 1), "everyone");
	/* a ctx without subject is still global; cycle roles count */
	authz_ctx_t c = {0};
	c.cycle_role = CYCLE_ADMIN;
	assert_string_equal(rule(az, 7, "t.hr", &c, 1), "cycle:admin");
	assert_string_equal(rule(az, 2, "t.hr", &c, 1), "role:hr_admin");
	c.cycle_role = CYCLE_ASSISTANT;
	assert_string_equal(rule(az, 7, "t.hr", &c, 0), "no_role");
	authz_free(az);
}

static void test_all_of_and_if_flag_grants(void **state)
{
	authz_t *az = with_policy();
	put(az, 2, 1, A | HRA);
	put(az, 3, 1, A | TA);
	put(az, 4, 2, A | HRS);
	put(az, 5, 2, A | HRA | TA);
	put(az, 6, 3, A | HRS | TA);
	assert_string_equal(rule(az, 2, "t.super", NULL, 0), "no_role");
	assert_string_equal(rule(az, 3, "t.super", NULL, 0), "no_role");
	assert_string_equal(rule(az, 6, "t.super", NULL, 0), "no_role");
	assert_string_equal(rule(az, 5, "t.super", NULL, 1), "role:hr_admin+tech_admin");
	authz_ctx_t c = {0};
	c.cycle_role = CYCLE_ADMIN; /* cycle admin + own Tech Admin make the pair */
	assert_string_equal(rule(az, 3, "t.super", &c, 1), "cycle:admin");

	assert_string_equal(rule(az, 4, "t.flagged", NULL, 0), "no_role");
	assert_false(authz_flag(az, "t.assistants_may"));
	assert_int_equal(authz_set_flag(az, "t.assistants_may", 1), 0);
	assert_true(authz_flag(az, "t.assistants_may"));
	assert_string_equal(rule(az, 4, "t.flagged", NULL, 1), "role:hr_assistant");
	assert_string_equal(rule(az, 3, "t.flagged", NULL, 0), "no_role");
	assert_string_equal(rule(az, 2, "t.flagged", NULL, 1), "role:hr_admin");
	assert_int_equal(authz_set_flag(az, "t.assistants_may", 0), 0);
	assert_string_equal(rule(az, 4, "t.flagged", NULL, 0), "no_role");
	assert_int_equal(authz_set_flag(az, "Bad Name", 1), -1);
	authz_free(az);
}

static void test_rule_4a_hierarchy(void **state)
{
	authz_t *az = with_policy();
	put(az, 7, 6, A | HRA | TA); /* a super user at the bottom of the chain */
	authz_ctx_t c = {.has_subject = 1, .subject = 3};
	assert_string_equal(rule(az, 7, "t.read", &c, 0), "hierarchy");
	c.subject = 1;
	assert_string_equal(rule(az, 7, "t.read", &c, 0), "hierarchy");
	c.cycle_role = CYCLE_ADMIN;
	assert_string_equal(rule(az, 7, "t.read", &c, 0), "hierarchy");
	c.has_vis = 1;
	memset(c.vis, AUTHZ_ALWAYS, sizeof c.vis);
	assert_string_equal(rule(az, 7, "t.read", &c, 0), "hierarchy");
	/* not confidential: roles decide */
	assert_string_equal(rule(az, 7, "t.edit", &(authz_ctx_t){.has_subject = 1, .subject = 1}, 1),
	                    "role:hr_admin");
	/* people elsewhere are fine */
	c = (authz_ctx_t){.has_subject = 1, .subject = 5};
	assert_string_equal(rule(az, 7, "t.read", &c, 1), "role:hr_admin");
	authz_free(az);
}

static void test_rule_4b_visibility_supersedes_roles(void **state)
{
	authz_t *az = with_policy();
	put(az, 2, 1, A | HRA); /* HR Admin, manages 4 and 5 */
	put(az, 3, 1, A);
	authz_ctx_t c = {.has_subject = 1, .subject = 5, .has_vis = 1, .stage = AUTHZ_DRAFT};
	c.vis[AUTHZ_VIS_DIRECT_MANAGER] = AUTHZ_NEVER;
	c.vis[AUTHZ_VIS_HR] = AUTHZ_ALWAYS;
	assert_string_equal(rule(az, 2, "t.read", &c, 0), "vis:direct_manager"); /* role disregarded */
	c.vis[AUTHZ_VIS_DIRECT_MANAGER] = AUTHZ_AFTER_SUBMIT;
	assert_string_equal(rule(az, 2, "t.read", &c, 0), "vis:direct_manager");
	c.stage = AUTHZ_SUBMITTED;
	assert_string_equal(rule(az, 2, "t.read", &c, 1), "vis:direct_manager");
	/* indirect managers */
	c.vis[AUTHZ_VIS_INDIRECT_MANAGER] = AUTHZ_AFTER_SHARE;
	assert_string_equal(rule(az, 1, "t.read", &c, 0), "vis:indirect_manager");
	c.stage = AUTHZ_SHARED;
	assert_string_equal(rule(az, 1, "t.read", &c, 1), "vis:indirect_manager");
	c.vis[AUTHZ_VIS_INDIRECT_MANAGER] = AUTHZ_AFTER_SIGN;
	assert_string_equal(rule(az, 1, "t.read", &c, 0), "vis:indirect_manager");
	c.stage = AUTHZ_SIGNED;
	assert_string_equal(rule(az, 1, "t.read", &c, 1), "vis:indirect_manager");
	/* self: the HR Admin's own data */
	c.subject = 2;
	c.vis[AUTHZ_VIS_SELF] = AUTHZ_NEVER;
	assert_string_equal(rule(az, 2, "t.read", &c, 0), "vis:self");
	c.vis[AUTHZ_VIS_SELF] = AUTHZ_ALWAYS;
	c.stage = AUTHZ_DRAFT;
	assert_string_equal(rule(az, 2, "t.read", &c, 1), "vis:self");
	/* unrelated: author, reviewer, then HR */
	c.subject = 6; /* 2 is not in 6's chain */
	c.vis[AUTHZ_VIS_HR] = AUTHZ_AFTER_SUBMIT;
	assert_string_equal(rule(az, 2, "t.read", &c, 0), "vis:hr");
	c.stage = AUTHZ_SUBMITTED;
	assert_string_equal(rule(az, 2, "t.read", &c, 1), "vis:hr");
	assert_string_equal(rule(az, 7, "t.read",
	                         &(authz_ctx_t){.has_subject = 1,
	                                        .subject = 5,
	                                        .has_vis = 1,
	                                        .vis = {AUTHZ_ALWAYS, AUTHZ_ALWAYS, AUTHZ_ALWAYS,
	                                                AUTHZ_ALWAYS, AUTHZ_ALWAYS}},
	                         0),
	                    "no_relation");
	authz_ctx_t r = {.has_subject = 1, .subject = 5, .has_vis = 1, .rel = AUTHZ_REVIEWER};
	r.vis[AUTHZ_VIS_REVIEWER] = AUTHZ_AFTER_SHARE;
	assert_string_equal(rule(az, 3, "t.read", &r, 0), "no_relation");
	r.stage = AUTHZ_SHARED;
	assert_string_equal(rule(az, 3, "t.read", &r, 1), "vis:reviewer");
	r.rel = AUTHZ_AUTHOR;
	r.stage = AUTHZ_DRAFT;
	assert_string_equal(rule(az, 3, "t.read", &r, 1), "author");
	assert_string_equal(rule(az, 3, "t.edit", &r, 0), "no_relation"); /* not author_ok */
	/* cycle roles count as HR under the vis.hr level */
	r.rel = 0;
	r.cycle_role = CYCLE_ADMIN;
	r.vis[AUTHZ_VIS_HR] = AUTHZ_ALWAYS;
	assert_string_equal(rule(az, 3, "t.read", &r, 1), "vis:hr");
	r.vis[AUTHZ_VIS_HR] = AUTHZ_NEVER;
	assert_string_equal(rule(az, 3, "t.read", &r, 0), "vis:hr");
	/* missing vis entries are "never" */
	authz_ctx_t e = {.has_subject = 1, .subject = 2, .has_vis = 1};
	assert_string_equal(rule(az, 1, "t.read", &e, 0), "vis:direct_manager");
	authz_free(az);
}

/* A 360's feedback: released to the managers before it is shared with the reviewee. */
static void test_released_lies_between_submitted_and_shared(void **state)
{
	(void)state;
	authz_t *az = with_policy(); /* 2 manages 5 */
	authz_ctx_t c = {.has_subject = 1, .subject = 5, .has_vis = 1, .stage = AUTHZ_SUBMITTED};
	c.vis[AUTHZ_VIS_DIRECT_MANAGER] = AUTHZ_AFTER_RELEASE;
	c.vis[AUTHZ_VIS_SELF] = AUTHZ_AFTER_SHARE;
	assert_string_equal(rule(az, 2, "t.read", &c, 0),
	                    "vis:direct_manager"); /* shared by the writer only */
	c.stage = AUTHZ_RELEASED;
	assert_string_equal(rule(az, 2, "t.read", &c, 1), "vis:direct_manager");
	assert_string_equal(rule(az, 5, "t.read", &c, 0), "vis:self"); /* not yet for the reviewee */
	c.stage = AUTHZ_SHARED;
	assert_string_equal(rule(az, 2, "t.read", &c, 1), "vis:direct_manager");
	assert_string_equal(rule(az, 5, "t.read", &c, 1), "vis:self");
	authz_level_t lv;
	authz_stage_t st;
	assert_int_equal(authz_level_parse("after_release", &lv), 0);
	assert_int_equal(lv, AUTHZ_AFTER_RELEASE);
	assert_int_equal(authz_stage_parse("released", &st), 0);
	assert_int_equal(st, AUTHZ_RELEASED);
	authz_free(az);
}

static void test_rule_4c_defaults_without_vis(void **state)
{
	authz_t *az = with_policy();
	put(az, 2, 1, A | HRA);
	authz_ctx_t c = {.has_subject = 1, .subject = 7};
	assert_string_equal(rule(az, 6, "t.read", &c, 1), "rel:direct_manager");
	assert_string_equal(rule(az, 1, "t.read", &c, 1), "rel:indirect_manager");
	assert_string_equal(rule(az, 7, "t.read", &c, 1), "rel:self");
	assert_string_equal(rule(az, 2, "t.read", &c, 1), "role:hr_admin");
	assert_string_equal(rule(az, 5, "t.read", &c, 0), "no_relation");
	assert_string_equal(rule(az, 6, "t.manager_only", &c, 1), "rel:direct_manager");
	assert_string_equal(rule(az, 3, "t.manager_only", &c, 0), "no_relation");
	assert_string_equal(rule(az, 7, "t.manager_only", &c, 0), "no_relation");
	assert_string_equal(rule(az, 5, "t.everyone", &c, 1), "everyone");
	c.subject = 12345; /* unknown subject: unrelated */
	assert_string_equal(rule(az, 2, "t.read", &c, 1), "role:hr_admin");
	assert_string_equal(rule(az, 5, "t.read", &c, 0), "no_relation");
	authz_free(az);
}

static void test_policy_validation(void **state)
{
	authz_t *az = authz_new();
	authz_policy_t *p = authz_policy_new(az);
	char err[256];
	declare_roles(p);
	authz_action_def_t d = {.name = "x.one", .section = "S", .label = "L", .why = "w"};
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), 0);
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), -1);
	assert_non_null(strstr(err, "duplicate action \"x.one\""));
	d.name = "x.two";
	d.why = "";
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), -1);
	assert_non_null(strstr(err, "missing why"));
	d.why = "w";
	d.label = NULL;
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), -1);
	assert_non_null(strstr(err, "missing label"));
	d.label = "L";
	d.all_of = HRA;
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), -1);
	assert_non_null(strstr(err, "all_of"));
	d.all_of = 0;
	d.grant[1] = AUTHZ_GRANT_IF;
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), -1);
	assert_non_null(strstr(err, "hr_assistant"));
	d.grant[1] = AUTHZ_GRANT_NO;
	d.everyone = d.confidential = 1;
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), -1);
	d.everyone = d.confidential = 0;
	const char *bad[] = {"Users.invite", "users", "users..x", ".x", "x.", "users.in vite", "1x.y"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		d.name = bad[i];
		assert_int_equal(authz_policy_add(p, &d, err, sizeof err), -1);
	}
	d.name = "x.two";
	assert_int_equal(authz_policy_add(p, &d, err, sizeof err), 0);
	authz_set_policy(az, p);
	assert_int_equal(authz_action_count(az), 2);
	assert_string_equal(authz_action_at(az, 1)->name, "x.two");
	assert_int_equal(authz_action_find(az, "x.two", 5), 1);
	assert_int_equal(authz_action_find(az, "x.tw", 4), -1);
	authz_free(az);
}

static void test_many_actions_are_found(void **state)
{
	authz_t *az = authz_new();
	authz_policy_t *p = authz_policy_new(az);
	char names[300][32];
	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof names[i], "a.n%d", i);
		add(p, (authz_action_def_t){.name = names[i]});
	}
	authz_set_policy(az, p);
	for (int i = 0; i < 300; i++)
		assert_int_equal(act(az, names[i]), i);
	authz_free(az);
}

static void test_roles_for_and_explain(void **state)
{
	authz_t *az = with_policy();
	char buf[512];
	authz_roles_for(az, act(az, "t.hr"), buf, sizeof buf);
	assert_string_equal(buf, "HR Admin");
	authz_roles_for(az, act(az, "t.tech_or_hr"), buf, sizeof buf);
	assert_string_equal(buf, "HR Admin or Tech Admin");
	authz_roles_for(az, act(az, "t.super"), buf, sizeof buf);
	assert_string_equal(buf, "HR Admin + Tech Admin");
	authz_roles_for(az, act(az, "t.flagged"), buf, sizeof buf);
	assert_string_equal(buf, "HR Admin or HR Assistant (when t.assistants_may is on)");
	authz_roles_for(az, act(az, "t.everyone"), buf, sizeof buf);
	assert_string_equal(buf, "Everyone");

	put(az, 7, 6, A | HRA);
	authz_ctx_t c = {.has_subject = 1, .subject = 1};
	authz_result_t r;
	int i = act(az, "t.read");
	authz_check(az, 7, i, &c, &r);
	authz_explain(az, 7, i, &c, &r, buf, sizeof buf);
	assert_non_null(strstr(buf, "above"));
	assert_non_null(strstr(buf, "HR Admins included"));
	authz_check(az, 3, act(az, "t.hr"), NULL, &r);
	authz_explain(az, 3, act(az, "t.hr"), NULL, &r, buf, sizeof buf);
	assert_non_null(strstr(buf, "HR Admin"));
	assert_non_null(strstr(buf, "no role"));
	/* a short buffer is cut, never overrun */
	char tiny[8];
	authz_explain(az, 3, act(az, "t.hr"), NULL, &r, tiny, sizeof tiny);
	assert_int_equal(strlen(tiny), 7);
	authz_free(az);
}

static void test_putting_a_change_back_needs_no_rebuild(void **state)
{
	authz_t *az = small_company();
	authz_rebuild(az);
	assert_false(authz_needs_rebuild(az));
	put(az, 7, 2, A); /* 7 moves from 6 to 2 */
	assert_true(authz_needs_rebuild(az));
	put(az, 7, 6, A); /* and back: the graph built last is right again */
	assert_false(authz_needs_rebuild(az));
	assert_int_equal(authz_relation(az, 3, 7), AUTHZ_REL_INDIRECT_MANAGER);
	put(az, 7, 2, A);
	assert_int_equal(authz_relation(az, 2, 7), AUTHZ_REL_DIRECT_MANAGER); /* rebuilt */
	assert_false(authz_needs_rebuild(az));
	put(az, 7, 6, A); /* the graph built last has 7 under 2 now */
	assert_true(authz_needs_rebuild(az));
	authz_rebuild(az);
	put(az, 1, -1, A | HRA); /* a roles-only change never needs one */
	assert_false(authz_needs_rebuild(az));
	assert_int_equal(authz_flags(az, 1), A | HRA);
	put(az, 3, -1, A); /* losing a manager, then getting it back */
	assert_true(authz_needs_rebuild(az));
	put(az, 3, 1, A);
	assert_false(authz_needs_rebuild(az));
	put(az, 20, 7, A); /* someone new, removed again */
	assert_true(authz_needs_rebuild(az));
	assert_int_equal(authz_remove(az, 20), 0);
	assert_false(authz_needs_rebuild(az));
	assert_int_equal(authz_remove(az, 5), 0); /* someone the graph holds */
	assert_true(authz_needs_rebuild(az));
	put(az, 5, 2, A);
	assert_true(authz_needs_rebuild(az));
	assert_int_equal(authz_relation(az, 2, 5), AUTHZ_REL_DIRECT_MANAGER);
	assert_false(authz_needs_rebuild(az));
	authz_free(az);
}

static void test_get_returns_what_was_put(void **state)
{
	authz_t *az = small_company();
	int has;
	int64_t m;
	unsigned f;
	put(az, 7, 6, A | HRS | TA);
	assert_int_equal(authz_get(az, 7, &has, &m, &f), 1);
	assert_true(has);
	assert_int_equal(m, 6);
	assert_int_equal(f, A | HRS | TA);
	put(az, 30, 99, AUTHZ_GUEST); /* a manager nobody knows is still what was put */
	assert_int_equal(authz_get(az, 30, &has, &m, &f), 1);
	assert_int_equal(m, 99);
	assert_int_equal(f, AUTHZ_GUEST);
	assert_int_equal(authz_get(az, 1, &has, &m, &f), 1);
	assert_false(has);
	assert_int_equal(authz_get(az, 12345, &has, &m, &f), 0);
	authz_free(az);
}

static void test_roles_come_from_the_policy(void **state)
{
	authz_t *az = authz_new();
	authz_policy_t *p = authz_policy_new(az);
	char err[256];
	assert_int_equal(authz_role_count(az), 0);
	assert_int_equal(authz_policy_add_role(p, "Boss", "Boss", err, sizeof err), -1);
	assert_non_null(strstr(err, "not lower-case"));
	assert_int_equal(authz_policy_add_role(p, "boss", "", err, sizeof err), -1);
	assert_non_null(strstr(err, "missing label"));
	assert_int_equal(authz_policy_add_role(p, "boss", "The boss", err, sizeof err), 0);
	assert_int_equal(authz_policy_add_role(p, "boss", "Again", err, sizeof err), -1);
	assert_non_null(strstr(err, "duplicate role \"boss\""));
	assert_int_equal(authz_policy_add_role(p, "clerk", "Clerk", err, sizeof err), 0);
	assert_int_equal(authz_policy_add_cycle_role(p, "lead", "Cycle lead", 1u << 5, err, sizeof err), -1);
	assert_non_null(strstr(err, "acts_as"));
	assert_int_equal(authz_policy_add_cycle_role(p, "clerk", "Clerk", 1, err, sizeof err), -1);
	assert_int_equal(authz_policy_add_cycle_role(p, "lead", "Cycle lead", 1, err, sizeof err), 0);
	add(p, (authz_action_def_t){.name = "t.clerks", .grant = {AUTHZ_GRANT_NO, AUTHZ_GRANT_YES}});
	add(p, (authz_action_def_t){.name = "t.both", .all_of = 3});
	assert_int_equal(authz_policy_add(p,
	                                  &(authz_action_def_t){.name = "t.third",
	                                                        .section = "S",
	                                                        .label = "L",
	                                                        .why = "w",
	                                                        .grant = {0, 0, AUTHZ_GRANT_YES}},
	                                  err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "undeclared role"));
	assert_int_equal(authz_policy_add_role(p, "late", "Late", err, sizeof err), -1);
	assert_non_null(strstr(err, "before the actions"));
	authz_set_policy(az, p);
	assert_int_equal(authz_role_count(az), 2);
	assert_string_equal(authz_role_name(az, 1), "clerk");
	assert_string_equal(authz_role_label(az, 0), "The boss");
	assert_string_equal(authz_role_name(az, 2), "?");
	assert_int_equal(authz_role_parse(az, "clerk"), 1);
	assert_int_equal(authz_role_parse(az, "hr_admin"), -1);
	assert_int_equal(authz_cycle_role_parse(az, "lead"), 0);
	assert_int_equal(authz_cycle_role_acts_as(az, 0), 1);
	put(az, 1, -1, A | 2);
	put(az, 2, -1, A | 3);
	put(az, 3, -1, A);
	assert_string_equal(rule(az, 1, "t.clerks", NULL, 1), "role:clerk");
	assert_string_equal(rule(az, 2, "t.both", NULL, 1), "role:boss+clerk");
	authz_ctx_t c = {.cycle_role = 1};
	assert_string_equal(rule(az, 1, "t.both", &c, 1), "cycle:lead");
	char buf[256];
	authz_roles_for(az, act(az, "t.both"), buf, sizeof buf);
	assert_string_equal(buf, "The boss + Clerk");
	authz_free(az);
}

/* The object's own people (ctx.rel parts) are allowed outright, before the hierarchy rule and
 * whatever their roles; nobody else gains anything from them. */
static void test_parts_allow_the_objects_own_people(void **state)
{
	(void)state;
	authz_t *az = small_company();
	put(az, 2, 1, A | HRA);
	put(az, 50, -1, A | AUTHZ_GUEST);
	authz_policy_t *p = authz_policy_new(az);
	declare_roles(p);
	add(p, (authz_action_def_t){.name = "t.msg", .confidential = 1, .direct_manager = 1});
	add(p, (authz_action_def_t){.name = "t.note", .confidential = 1});
	add(p, (authz_action_def_t){.name = "t.open", .everyone = 1});
	char err[256];
	assert_int_equal(
	    authz_policy_set_parts(p, "t.msg", AUTHZ_AUTHOR | AUTHZ_RECIPIENT | AUTHZ_NAMED, err, sizeof err),
	    0);
	assert_int_equal(authz_policy_set_parts(p, "t.note", AUTHZ_AUTHOR | AUTHZ_NAMED, err, sizeof err), 0);
	assert_int_equal(authz_policy_set_parts(p, "t.nothing", AUTHZ_AUTHOR, err, sizeof err), -1);
	assert_string_equal(err, "parts for an unknown action");
	assert_int_equal(authz_policy_set_parts(p, "t.msg", AUTHZ_REVIEWER, err, sizeof err), -1);
	assert_string_equal(err, "field parts: only author, recipient, named and participant");
	assert_int_equal(authz_policy_set_parts(p, "t.open", AUTHZ_AUTHOR, err, sizeof err), -1);
	assert_string_equal(err, "an action for everyone needs no parts");
	authz_set_policy(az, p);
	/* 7 writes to 1, who is above them: the author part comes before the hierarchy rule */
	authz_ctx_t c = {.has_subject = 1, .subject = 1, .rel = AUTHZ_AUTHOR};
	assert_string_equal(rule(az, 7, "t.msg", &c, 1), "part:author");
	c.rel = 0;
	assert_string_equal(rule(az, 7, "t.msg", &c, 0), "hierarchy");
	c = (authz_ctx_t){.has_subject = 1, .subject = 7, .rel = AUTHZ_RECIPIENT};
	assert_string_equal(rule(az, 7, "t.msg", &c, 1), "part:recipient");
	assert_string_equal(rule(az, 7, "t.note", &c, 0),
	                    "no_relation"); /* recipients are not a part of notes */
	c.rel = AUTHZ_NAMED;
	assert_string_equal(rule(az, 5, "t.note", &c, 1), "part:named");
	c.rel = AUTHZ_AUTHOR | AUTHZ_NAMED;
	assert_string_equal(rule(az, 5, "t.note", &c, 1), "part:author");
	/* the recipient's direct manager by relation; indirect managers and HR Admins: nothing */
	c.rel = 0;
	assert_string_equal(rule(az, 6, "t.msg", &c, 1), "rel:direct_manager");
	assert_string_equal(rule(az, 3, "t.msg", &c, 0), "no_relation");
	assert_string_equal(rule(az, 2, "t.msg", &c, 0), "no_relation");
	assert_string_equal(rule(az, 2, "t.note", NULL, 0), "no_role");
	/* parts do not open a door for guests, nor for inactive people */
	c.rel = AUTHZ_AUTHOR;
	assert_string_equal(rule(az, 50, "t.msg", &c, 0), "guest");
	put(az, 5, 2, 0);
	assert_string_equal(rule(az, 5, "t.msg", &c, 0), "inactive");
	/* the explanation says which part allowed it */
	authz_result_t r;
	int i = act(az, "t.msg");
	c.rel = AUTHZ_RECIPIENT;
	authz_check(az, 7, i, &c, &r);
	char buf[256];
	authz_explain(az, 7, i, &c, &r, buf, sizeof buf);
	assert_non_null(strstr(buf, "addressed to person 7"));
	authz_free(az);
}

/* A 1:1 series: its participants read it and a private item only its author, whatever their
 * roles or their place in the tree; their managers and HR Admins get nothing from the parts. */
static void test_participants_and_authors_of_a_one_on_one(void **state)
{
	(void)state;
	authz_t *az = small_company();
	put(az, 2, 1, A | HRA);
	authz_policy_t *p = authz_policy_new(az);
	declare_roles(p);
	add(p, (authz_action_def_t){.name = "t.series"});
	add(p, (authz_action_def_t){.name = "t.private"});
	char err[256];
	assert_int_equal(authz_policy_set_parts(p, "t.series", AUTHZ_PARTICIPANT, err, sizeof err), 0);
	assert_int_equal(authz_policy_set_parts(p, "t.private", AUTHZ_AUTHOR, err, sizeof err), 0);
	assert_int_equal(authz_policy_set_parts(p, "t.series", AUTHZ_GUEST_REVIEWER, err, sizeof err), -1);
	assert_string_equal(err, "field parts: only author, recipient, named and participant");
	authz_set_policy(az, p);
	/* 6 and 7 meet (7 reports to 6) */
	authz_ctx_t c = {.rel = AUTHZ_PARTICIPANT};
	assert_string_equal(rule(az, 7, "t.series", &c, 1), "part:participant");
	assert_string_equal(rule(az, 6, "t.series", &c, 1), "part:participant");
	assert_string_equal(rule(az, 7, "t.private", &c, 0), "no_role"); /* taking part is not writing it */
	c.rel = AUTHZ_PARTICIPANT | AUTHZ_AUTHOR;
	assert_string_equal(rule(az, 7, "t.private", &c, 1), "part:author");
	assert_string_equal(rule(az, 7, "t.series", &c, 1), "part:participant");
	/* their managers further up and an HR Admin take no part */
	c.rel = 0;
	assert_string_equal(rule(az, 3, "t.series", &c, 0), "no_role");
	assert_string_equal(rule(az, 2, "t.series", &c, 0), "no_role");
	assert_string_equal(rule(az, 2, "t.private", NULL, 0), "no_role");
	c = (authz_ctx_t){.has_subject = 1, .subject = 7};
	assert_string_equal(rule(az, 6, "t.series", &c, 0), "no_relation");
	assert_string_equal(rule(az, 2, "t.series", &c, 0), "no_relation");
	/* an inactive participant: nothing */
	put(az, 7, 6, 0);
	c = (authz_ctx_t){.rel = AUTHZ_PARTICIPANT};
	assert_string_equal(rule(az, 7, "t.series", &c, 0), "inactive");
	/* the explanation names the part */
	authz_result_t r;
	int i = act(az, "t.series");
	authz_check(az, 6, i, &c, &r);
	char buf[256];
	authz_explain(az, 6, i, &c, &r, buf, sizeof buf);
	assert_non_null(strstr(buf, "takes part in it"));
	authz_free(az);
}

/* Objectives: one action per visibility level (public, protected, private), decided in bulk the
 * same as one by one; an HR Admin (5, under 2 and 1) reads protected objectives but not those of
 * their own managers, and private ones only when named on them. */
static void test_check_many_decides_each_object_like_check(void **state)
{
	(void)state;
	authz_t *az = small_company();
	put(az, 5, 2, A | HRA);
	authz_policy_t *p = authz_policy_new(az);
	declare_roles(p);
	add(p, (authz_action_def_t){.name = "t.pub", .everyone = 1});
	add(p, (authz_action_def_t){.name = "t.prot",
	                            .grant = {[0] = AUTHZ_GRANT_YES},
	                            .confidential = 1,
	                            .self = 1,
	                            .direct_manager = 1,
	                            .indirect_manager = 1});
	add(p, (authz_action_def_t){.name = "t.priv", .confidential = 1, .self = 1});
	char err[256];
	assert_int_equal(authz_policy_set_parts(p, "t.prot", AUTHZ_NAMED, err, sizeof err), 0);
	assert_int_equal(authz_policy_set_parts(p, "t.priv", AUTHZ_NAMED, err, sizeof err), 0);
	authz_set_policy(az, p);
	int pub = act(az, "t.pub"), prot = act(az, "t.prot"), priv = act(az, "t.priv");
	authz_item_t items[] = {
	    {pub, 2, 0},            /* public, owned by 5's manager: everyone */
	    {prot, 2, 0},           /* protected, 5's own manager: hierarchy */
	    {prot, 1, 0},           /* protected, further up 5's chain: hierarchy */
	    {prot, 6, 0},           /* protected, another branch: HR Admin */
	    {priv, 6, 0},           /* private: no role reads it */
	    {priv, 6, AUTHZ_NAMED}, /* private, 5 is named on it */
	    {prot, 2, AUTHZ_NAMED}, /* protected of 5's manager, 5 named on it */
	    {priv, 5, 0},           /* 5's own private objective */
	    {-1, 5, 0},             /* an action the policy does not have */
	};
	size_t n = sizeof items / sizeof items[0];
	uint8_t got[sizeof items / sizeof items[0]];
	memset(got, 0xff, sizeof got);
	assert_int_equal(authz_check_many(az, 5, items, n, got), 5);
	const uint8_t want[] = {1, 0, 0, 1, 0, 1, 1, 1, 0};
	assert_memory_equal(got, want, n);
	/* each as authz_check says, for every person of the company */
	const int64_t people[] = {1, 2, 3, 4, 5, 6, 7, 10, 11, 99};
	for (size_t k = 0; k < sizeof people / sizeof people[0]; k++) {
		size_t yes = authz_check_many(az, people[k], items, n, got);
		size_t count = 0;
		for (size_t i = 0; i < n; i++) {
			authz_ctx_t c = {.has_subject = 1, .subject = items[i].subject, .rel = items[i].rel};
			authz_result_t r;
			assert_int_equal(got[i], authz_check(az, people[k], items[i].action, &c, &r));
			count += got[i];
		}
		assert_int_equal(yes, count);
	}
	/* managers up the chain read protected objectives, never private ones */
	authz_item_t of7[] = {{prot, 7, 0}, {priv, 7, 0}};
	assert_int_equal(authz_check_many(az, 3, of7, 2, got), 1);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 0);
	assert_int_equal(authz_check_many(az, 3, of7, 0, got), 0);
	authz_free(az);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relations_in_a_tree),
	    cmocka_unit_test(test_reports_and_chain),
	    cmocka_unit_test(test_forest_roots_are_separate),
	    cmocka_unit_test(test_moving_a_manager_moves_the_whole_team),
	    cmocka_unit_test(test_would_loop),
	    cmocka_unit_test(test_removal_leaves_roots_until_the_id_returns),
	    cmocka_unit_test(test_manager_loops_in_the_input_are_cut),
	    cmocka_unit_test(test_many_ids_survive_removals),
	    cmocka_unit_test(test_a_very_deep_chain_needs_no_recursion),
	    cmocka_unit_test(test_rule_1_unknown_inactive_unknown_action),
	    cmocka_unit_test(test_rule_2_guests),
	    cmocka_unit_test(test_rule_3_global_actions),
	    cmocka_unit_test(test_all_of_and_if_flag_grants),
	    cmocka_unit_test(test_rule_4a_hierarchy),
	    cmocka_unit_test(test_rule_4b_visibility_supersedes_roles),
	    cmocka_unit_test(test_released_lies_between_submitted_and_shared),
	    cmocka_unit_test(test_rule_4c_defaults_without_vis),
	    cmocka_unit_test(test_policy_validation),
	    cmocka_unit_test(test_many_actions_are_found),
	    cmocka_unit_test(test_roles_for_and_explain),
	    cmocka_unit_test(test_putting_a_change_back_needs_no_rebuild),
	    cmocka_unit_test(test_get_returns_what_was_put),
	    cmocka_unit_test(test_roles_come_from_the_policy),
	    cmocka_unit_test(test_parts_allow_the_objects_own_people),
	    cmocka_unit_test(test_participants_and_authors_of_a_one_on_one),
	    cmocka_unit_test(test_check_many_decides_each_object_like_check),
	};
	return cmocka_run_group_tests_name("authz", tests, NULL, NULL);
}
