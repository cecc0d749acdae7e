/* The permission evaluator on one core: a generated company of 100,000 people (reporting
 * chains at least 12 deep, a realistic role mix, a few guests and leavers) and a policy shaped
 * like policies/roles.lua; times a mix of decisions (global, subject-based, under a cycle's
 * visibility settings) against the least work any decision needs: two hash lookups of person
 * records. Prints (bench/README.md):
 *   bench authz_checks_per_s V checks/s vs lookup_pairs_per_s A ratio R
 *   bench authz_checks_by_name_per_s V checks/s vs lookup_pairs_per_s A ratio R
 *   bench authz_rebuild_ms V ms vs budget_ms 100 ratio R
 * usage: authz_bench [PEOPLE=100000] [SECONDS_PER_ROUND=0.4] [ROUNDS=5] */
#include "authz.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The roles the bench policy declares, as policies/roles_list.lua does, in bit order. */
enum { HR_ADMIN = 1u << 0, HR_ASSISTANT = 1u << 1, TECH_ADMIN = 1u << 2, NROLES = 3 };

/** A prepared decision. */
typedef struct query {
	int64_t actor;    /* who asks */
	int32_t action;   /* action index */
	int32_t ctx;      /* index into the contexts, or -1 for a global check */
	const char *name; /* the action's name (for the by-name figure) */
	size_t name_len;  /* its length */
} query_t;

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint32_t below(uint32_t n)
{
	return (uint32_t)(next() % n);
}
static double chance(void)
{
	return (double)(next() >> 11) / 9007199254740992.0;
}

static int count_fn(int64_t id, void *ud)
{
	(void)id;
	(void)ud;
	return 0;
}
/** authz_chain callback that only counts. */
#define NULL_FN count_fn

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ids are sparse, as database ids after years of churn are */
static int64_t id_of(uint32_t i)
{
	return 1000 + (int64_t)i * 7;
}

/* A policy of the same shape and size as policies/roles.lua. */
static int make_policy(authz_t *az, char names[][40], int *reads, int *nreads)
{
	authz_policy_t *p = authz_policy_new(az);
	char err[256];
	int n = 0;
	*nreads = 0;
	if (authz_policy_add_role(p, "hr_admin", "HR Admin", err, sizeof err) ||
	    authz_policy_add_role(p, "hr_assistant", "HR Assistant", err, sizeof err) ||
	    authz_policy_add_role(p, "tech_admin", "Tech Admin", err, sizeof err) ||
	    authz_policy_add_cycle_role(p, "admin", "Cycle admin", HR_ADMIN, err, sizeof err)) {
		fprintf(stderr, "policy: %s\n", err);
		authz_policy_free(p);
		return -1;
	}
	for (int i = 0; i < 66; i++) {
		authz_action_def_t d = {0};
		snprintf(names[i], 40, "section%d.action_%d", i % 8, i);
		d.name = names[i];
		d.section = "Section";
		d.label = "Label";
		d.why = "because";
		for (int r = 0; r < NROLES; r++)
			d.grant[r] = below(3) == 0 ? AUTHZ_GRANT_YES : AUTHZ_GRANT_NO;
		if (i % 11 == 3) {
			d.grant[1] = AUTHZ_GRANT_IF;
			d.flag[1] = "bench.flag";
		}
		if (i % 17 == 5) {
			memset(d.grant, 0, sizeof d.grant);
			d.all_of = HR_ADMIN | TECH_ADMIN;
		}
		if (i % 6 == 0) { /* content reads: reviews, feedback, objectives */
			memset(d.grant, 0, sizeof d.grant);
			d.grant[0] = AUTHZ_GRANT_YES;
			d.confidential = 1;
			d.author_ok = 1;
			d.guest_ok = i % 12 == 0;
			d.self = d.direct_manager = 1;
			d.indirect_manager = i % 12 == 0;
			reads[(*nreads)++] = i;
		}
		if (i == 61)
			d.everyone = 1, d.confidential = 0;
		if (authz_policy_add(p, &d, err, sizeof err)) {
			fprintf(stderr, "policy: %s\n", err);
			authz_policy_free(p);
			return -1;
		}
		n++;
	}
	authz_set_policy(az, p);
	authz_set_flag(az, "bench.flag", 1);
	return n;
}

/* A company of n in 13 levels: each level about n^(1/13) (2.4 for 100,000) times the one
 * above, everyone under a random manager of the level above; *depth gets the deepest chain. */
static int32_t *make_company(authz_t *az, uint32_t n, int *depth)
{
	int32_t *parent = malloc(sizeof *parent * n);
	if (!parent)
		return NULL;
	double factor = pow((double)n, 1.0 / 13);
	uint32_t start = 0, end = 1, level = 0;
	parent[0] = -1;
	while (end < n) {
		uint32_t size = end - start;
		double want = size * factor * (0.85 + 0.3 * chance());
		uint32_t grow = want < 1 ? 1 : (uint32_t)want;
		uint32_t next_end = end + grow > n ? n : end + grow;
		for (uint32_t i = end; i < next_end; i++)
			parent[i] = (int32_t)(start + below(size));
		start = end;
		end = next_end;
		level++;
	}
	*depth = (int)level;
	for (uint32_t i = 0; i < n; i++) {
		double u = chance();
		unsigned f = AUTHZ_ACTIVE;
		if (u < 0.010)
			f |= HR_ADMIN;
		else if (u < 0.030)
			f |= HR_ASSISTANT;
		else if (u < 0.040)
			f |= TECH_ADMIN;
		else if (u < 0.042)
			f |= HR_ADMIN | TECH_ADMIN;
		else if (u < 0.050)
			f |= AUTHZ_GUEST;
		else if (u < 0.070)
			f &= ~(unsigned)AUTHZ_ACTIVE;
		authz_put(az, id_of(i), parent[i] >= 0, parent[i] >= 0 ? id_of((uint32_t)parent[i]) : 0, f);
	}
	return parent;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)atol(argv[1]) : 100000;
	double secs = argc > 2 ? atof(argv[2]) : 0.4;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	enum { Q = 1 << 18, NCTX = 1 << 18 };
	static char names[66][40];
	int reads[66], nreads, depth;
	int status = 1;
	authz_t *az = authz_new();
	query_t *q = malloc(sizeof *q * Q);
	authz_ctx_t *ctx = malloc(sizeof *ctx * NCTX);
	int32_t *parent = NULL;
	if (!az || !q || !ctx || n < 1000)
		goto fail;
	int nactions = make_policy(az, names, reads, &nreads);
	if (nactions < 0)
		goto fail;
	parent = make_company(az, n, &depth);

	if (!parent)
		goto fail;
	/* the rebuild, timed after a real change: someone moves to another manager and back */
	double best_rebuild = 1e9;
	for (int r = 0; r < 7; r++) {
		uint32_t x = 1 + below(n - 1);
		unsigned fx = authz_flags(az, id_of(x));
		authz_put(az, id_of(x), 1, id_of(0), fx);
		double t0 = now();
		authz_rebuild(az);
		double t = now() - t0;
		if (t < best_rebuild)
			best_rebuild = t;
		authz_put(az, id_of(x), 1, id_of((uint32_t)parent[x]), fx);
		authz_rebuild(az);
	}
	int chain_len = 0; /* the deepest chain, walked through the evaluator */
	for (uint32_t i = n - 1000; i < n; i++) {
		size_t len = authz_chain(az, id_of(i), NULL_FN, NULL);
		if ((int)len > chain_len)
			chain_len = (int)len;
	}

	/* the mix: 30% global, 40% about a person without a cycle, 30% under cycle settings */
	int32_t hr[4096];
	int nhr = 0;
	for (uint32_t i = 0; i < n && nhr < 4096; i++)
		if (authz_flags(az, id_of(i)) & HR_ADMIN)
			hr[nhr++] = (int32_t)i;
	for (int i = 0; i < Q; i++) {
		double u = chance();
		uint32_t s = below(n), a;
		double w = chance();
		if (w < 0.4) {
			a = below(n);
		} else if (w < 0.7) { /* a manager of s */
			a = s;
			for (int k = 1 + (int)below(3); k > 0 && parent[a] >= 0; k--)
				a = (uint32_t)parent[a];
		} else if (w < 0.8) {
			a = s;
		} else {
			a = (uint32_t)hr[below((uint32_t)nhr)];
		}
		q[i].actor = id_of(a);
		if (u < 0.3) {
			q[i].action = (int32_t)below((uint32_t)nactions);
			q[i].ctx = -1;
		} else {
			authz_ctx_t *c = &ctx[i];
			memset(c, 0, sizeof *c);
			c->has_subject = 1;
			c->subject = id_of(s);
			q[i].action = chance() < 0.7 ? reads[below((uint32_t)nreads)]
			                             : (int32_t)below((uint32_t)nactions);
			q[i].ctx = i;
			if (u >= 0.7) {
				c->has_vis = 1;
				for (int v = 0; v < AUTHZ_VIS_N; v++)
					c->vis[v] = (uint8_t)below(5);
				c->stage = (uint8_t)below(4);
				c->cycle_role = chance() < 0.05 ? 1 : 0;
				c->rel = chance() < 0.1 ? AUTHZ_REVIEWER : 0;
			}
		}
		q[i].name = names[q[i].action];
		q[i].name_len = strlen(q[i].name);
	}

	/* measure: the best of `rounds` rounds for each figure, taken in turns */
	double best_check = 0, best_lookup = 0, best_named = 0;
	long long allowed = 0, sink = 0;
	for (int r = 0; r < rounds; r++) {
		long long done = 0;
		double t0 = now(), t;
		do {
			for (int i = 0; i < Q; i++) {
				authz_result_t res;
				allowed += authz_check(az, q[i].actor, q[i].action,
				                       q[i].ctx < 0 ? NULL : &ctx[q[i].ctx], &res);
			}
			done += Q;
		} while ((t = now() - t0) < secs);
		if (done / t > best_check)
			best_check = done / t;

		done = 0;
		t0 = now();
		do {
			for (int i = 0; i < Q; i++) {
				authz_result_t res;
				int a = authz_action_find(az, q[i].name, q[i].name_len);
				allowed += authz_check(az, q[i].actor, a,
				                       q[i].ctx < 0 ? NULL : &ctx[q[i].ctx], &res);
			}
			done += Q;
		} while ((t = now() - t0) < secs);
		if (done / t > best_named)
			best_named = done / t;

		done = 0;
		t0 = now();
		do {
			for (int i = 0; i < Q; i++) {
				int64_t other = q[i].ctx < 0 ? q[i].actor : ctx[q[i].ctx].subject;
				sink += authz_find(az, q[i].actor) + authz_find(az, other);
			}
			done += Q;
		} while ((t = now() - t0) < secs);
		if (done / t > best_lookup)
			best_lookup = done / t;
	}
	long long yes = 0;
	for (int i = 0; i < Q; i++) {
		authz_result_t res;
		yes += authz_check(az, q[i].actor, q[i].action, q[i].ctx < 0 ? NULL : &ctx[q[i].ctx], &res);
	}
	fprintf(stderr,
	        "authz_bench: %u people, %d levels, deepest chain %d managers, %d actions, "
	        "%.0f%% of the mix allowed (%lld)\n",
	        n, depth + 1, chain_len, nactions, 100.0 * (double)yes / Q, (allowed + sink) & 1);
	printf("bench authz_checks_per_s %.0f checks/s vs lookup_pairs_per_s %.0f ratio %.2f\n", best_check,
	       best_lookup, best_check / best_lookup);
	printf("bench authz_checks_by_name_per_s %.0f checks/s vs lookup_pairs_per_s %.0f ratio %.2f\n",
	       best_named, best_lookup, best_named / best_lookup);
	printf("bench authz_rebuild_ms %.2f ms vs budget_ms 100 ratio %.2f\n", best_rebuild * 1000,
	       best_rebuild * 1000 / 100);
	status = 0;
fail:
	if (status)
		fprintf(stderr, "authz_bench: cannot set up\n");
	free(parent);
	free(q);
	free(ctx);
	authz_free(az);
	return status;
}
