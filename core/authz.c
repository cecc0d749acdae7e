/* The permission evaluator: org graph, policy, decisions. See authz.h and policies/README.md. */
#include "authz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Internal person flags. */
enum {
	HAS_MANAGER = 1u << 10, /* a manager id is set */
	BUILT_HAS = 1u << 11,   /* the last rebuild saw a manager id (built_manager) */
	DIVERGED = 1u << 12,    /* the manager differs from the one the last rebuild saw */
	ADDED = 1u << 13,       /* put since the last rebuild */
	PUBLIC_FLAGS = AUTHZ_ROLES | AUTHZ_GUEST | AUTHZ_ACTIVE,
};
/** Most policy flags. */
#define FLAG_MAX 64

/** A person of the org graph. parent, tin and tout are valid after a rebuild. */
typedef struct person {
	int64_t id;            /* the person */
	int64_t manager;       /* their manager's id (when HAS_MANAGER) */
	int64_t built_manager; /* the manager id the last rebuild saw (when BUILT_HAS) */
	int32_t parent;        /* dense index of the manager, or -1 (unknown manager, root, or loop cut) */
	int32_t tin;           /* preorder number */
	int32_t tout;          /* preorder number of the last person below them */
	uint32_t flags;        /* roles | AUTHZ_GUEST | AUTHZ_ACTIVE | the internal flags above */
} person_t;

/** A slot of the id hash (open addressing, linear probing). It also holds a copy of what a
 * decision needs about the person (refreshed by every rebuild and put), so that a decision
 * costs one cache miss per person: the hash lookup itself. */
typedef struct slot {
	int64_t key;    /* person id */
	int32_t idx;    /* dense index, -1 when the slot is empty */
	int32_t parent; /* copy of person.parent */
	int32_t tin;    /* copy of person.tin */
	int32_t tout;   /* copy of person.tout */
	uint32_t flags; /* copy of person.flags */
	uint32_t pad;   /* to 32 bytes: two slots per cache line */
} slot_t;

/** An action of a policy, with its grants in the shape the decision needs. */
typedef struct action {
	authz_action_def_t def;           /* owned strings */
	size_t name_len;                  /* strlen(def.name) */
	uint8_t yes;                      /* roles granted outright */
	uint8_t cond;                     /* roles granted while a flag is set */
	uint8_t flagbit[AUTHZ_MAX_ROLES]; /* the flag of each conditional role */
	uint8_t all_of;                   /* roles that together grant it */
} action_t;

/** A role or a cycle role of a policy. */
typedef struct role {
	char *name;       /* e.g. "hr_admin" (owned) */
	char *label;      /* e.g. "HR Admin" (owned) */
	char *rule;       /* for a cycle role: its rule name "cycle:<name>" (owned) */
	unsigned acts_as; /* for a cycle role: the roles it counts as */
} role_t;

/** A policy: roles, cycle roles, actions in file order plus a name index. */
struct authz_policy {
	authz_t *az;                               /* where its flags are registered */
	role_t roles[AUTHZ_MAX_ROLES];             /* its roles, in bit order */
	int nroles;                                /* how many */
	role_t cycle_roles[AUTHZ_MAX_CYCLE_ROLES]; /* its cycle roles */
	int ncycle_roles;                          /* how many */
	char *role_rules[AUTHZ_ROLES + 1];         /* "role:a+b" for each role mask in use (owned) */
	action_t *actions;                         /* the actions */
	size_t n, cap;                             /* used, allocated */
	int32_t *index;   /* name hash -> action, -1 empty; index_cap is a power of two */
	size_t index_cap; /* its size */
};

/** The evaluator. */
struct authz {
	person_t *people;           /* dense array of people */
	size_t n, cap;              /* used, allocated (the work arrays below have cap entries) */
	slot_t *slots;              /* id -> index */
	size_t slot_cap;            /* power of two, at least twice n */
	int32_t *order;             /* preorder number -> index */
	int32_t *child_start;       /* cap + 1 entries: reports of i are child_list[start[i]..start[i+1]) */
	int32_t *child_list;        /* reports, grouped by manager, ascending ids */
	int32_t *stack;             /* rebuild work space */
	int dirty;                  /* a person the last rebuild saw was removed (or all were) */
	size_t diverged;            /* people whose manager differs from the one the last rebuild saw */
	size_t added;               /* people put since the last rebuild */
	size_t loops_cut;           /* loops the last rebuild cut */
	authz_policy_t *policy;     /* in force, or NULL */
	char *flag_names[FLAG_MAX]; /* registered flags */
	int nflags;                 /* how many */
	uint64_t flags;             /* which are set */
};

/* ---------------------------------------------------------------- names */

/** A name with its length (looked up on every check that gives levels or a stage: the lengths
 * tell most names apart without comparing their letters). */
typedef struct {
	const char *s;
	size_t len;
} name_t;
#define NAME(lit)                                                                                            \
	{                                                                                                    \
		lit, sizeof(lit) - 1                                                                         \
	}

static const name_t level_names[] = {NAME("never"),         NAME("always"),      NAME("after_submit"),
                                     NAME("after_release"), NAME("after_share"), NAME("after_sign")};
static const name_t stage_names[] = {NAME("draft"), NAME("submitted"), NAME("released"), NAME("shared"),
                                     NAME("signed")};

/* The index of s in names (n of them), or -1. */
static int name_index(const name_t *names, int n, const char *s)
{
	size_t len = strlen(s);
	for (int i = 0; i < n; i++)
		if (names[i].len == len && memcmp(s, names[i].s, len) == 0)
			return i;
	return -1;
}
static const char *const rel_names[] = {"none", "self", "direct_manager", "indirect_manager", "above"};

const char *authz_rel_name(authz_rel_t r)
{
	return r <= AUTHZ_REL_ABOVE ? rel_names[r] : "?";
}

int authz_role_count(const authz_t *az)
{
	return az->policy ? az->policy->nroles : 0;
}

/* Role i (a cycle role when cycle is set) of the policy in force, or NULL. */
static const role_t *role_at(const authz_t *az, int cycle, int i)
{
	int n = cycle ? authz_cycle_role_count(az) : authz_role_count(az);
	if (i < 0 || i >= n)
		return NULL;
	const role_t *list = cycle ? az->policy->cycle_roles : az->policy->roles;
	return list + i;
}

const char *authz_role_name(const authz_t *az, int i)
{
	const role_t *r = role_at(az, 0, i);
	return r ? r->name : "?";
}

const char *authz_role_label(const authz_t *az, int i)
{
	const role_t *r = role_at(az, 0, i);
	return r ? r->label : "?";
}

/* Whether s is name: the first letters compared before the call (a request asks the evaluator
 * a few times, each time with names of levels, stages and roles to look up in short lists). */
static inline int same_name(const char *s, const char *name)
{
	return s[0] == name[0] && strcmp(s, name) == 0;
}

static int find_role(const role_t *list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (same_name(s, list[i].name))
			return i;
	return -1;
}

int authz_role_parse(const authz_t *az, const char *s)
{
	return az->policy ? find_role(az->policy->roles, az->policy->nroles, s) : -1;
}

int authz_cycle_role_count(const authz_t *az)
{
	return az->policy ? az->policy->ncycle_roles : 0;
}

const char *authz_cycle_role_name(const authz_t *az, int i)
{
	const role_t *r = role_at(az, 1, i);
	return r ? r->name : "?";
}

const char *authz_cycle_role_label(const authz_t *az, int i)
{
	const role_t *r = role_at(az, 1, i);
	return r ? r->label : "?";
}

unsigned authz_cycle_role_acts_as(const authz_t *az, int i)
{
	const role_t *r = role_at(az, 1, i);
	return r ? r->acts_as : 0;
}

int authz_cycle_role_parse(const authz_t *az, const char *s)
{
	return az->policy ? find_role(az->policy->cycle_roles, az->policy->ncycle_roles, s) : -1;
}

int authz_level_parse(const char *s, authz_level_t *out)
{
	int i = name_index(level_names, AUTHZ_AFTER_SIGN + 1, s);
	if (i < 0)
		return -1;
	*out = (authz_level_t)i;
	return 0;
}

int authz_stage_parse(const char *s, authz_stage_t *out)
{
	int i = name_index(stage_names, AUTHZ_SIGNED + 1, s);
	if (i < 0)
		return -1;
	*out = (authz_stage_t)i;
	return 0;
}

/* ---------------------------------------------------------------- the id hash */

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline const slot_t *find_slot(const authz_t *az, int64_t id)
{
	if (!az->slot_cap)
		return NULL;
	size_t mask = az->slot_cap - 1;
	for (size_t i = mix((uint64_t)id) & mask;; i = (i + 1) & mask) {
		const slot_t *s = &az->slots[i];
		if (s->idx < 0)
			return NULL;
		if (s->key == id)
			return s;
	}
}

int32_t authz_find(const authz_t *az, int64_t id)
{
	const slot_t *s = find_slot(az, id);
	return s ? s->idx : -1;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t slot_of(const authz_t *az, int64_t id)
{
	size_t mask = az->slot_cap - 1;
	size_t i = mix((uint64_t)id) & mask;
	while (az->slots[i].idx >= 0 && az->slots[i].key != id)
		i = (i + 1) & mask;
	return i;
}

static int slots_grow(authz_t *az)
{
	size_t cap = az->slot_cap ? az->slot_cap * 2 : 64;
	slot_t *old = az->slots;
	size_t old_cap = az->slot_cap;
	slot_t *s = aligned_alloc(64, cap * sizeof *s);
	if (!s)
		return -1;
	for (size_t i = 0; i < cap; i++)
		s[i].idx = -1;
	az->slots = s;
	az->slot_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].idx >= 0)
			az->slots[slot_of(az, old[i].key)] = old[i];
	free(old);
	return 0;
}

/* Empties slot i, shifting later entries of its probe run back (no tombstones). */
static void slot_delete(authz_t *az, size_t i)
{
	size_t mask = az->slot_cap - 1;
	for (size_t j = (i + 1) & mask; az->slots[j].idx >= 0; j = (j + 1) & mask) {
		size_t home = mix((uint64_t)az->slots[j].key) & mask;
		int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			az->slots[i] = az->slots[j];
			i = j;
		}
	}
	az->slots[i].idx = -1;
}

/* ---------------------------------------------------------------- people */

authz_t *authz_new(void)
{
	return calloc(1, sizeof(authz_t));
}

static void role_free(role_t *r)
{
	free(r->name);
	free(r->label);
	free(r->rule);
	memset(r, 0, sizeof *r);
}

void authz_policy_free(authz_policy_t *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		authz_action_def_t *d = &p->actions[i].def;
		free((char *)d->name);
		free((char *)d->section);
		free((char *)d->label);
		free((char *)d->why);
		for (int r = 0; r < AUTHZ_MAX_ROLES; r++)
			free((char *)d->flag[r]);
	}
	for (int r = 0; r < AUTHZ_MAX_ROLES; r++)
		role_free(&p->roles[r]);
	for (int r = 0; r < AUTHZ_MAX_CYCLE_ROLES; r++)
		role_free(&p->cycle_roles[r]);
	for (unsigned m = 0; m <= AUTHZ_ROLES; m++)
		free(p->role_rules[m]);
	free(p->actions);
	free(p->index);
	free(p);
}

void authz_free(authz_t *az)
{
	if (!az)
		return;
	free(az->people);
	free(az->slots);
	free(az->order);
	free(az->child_start);
	free(az->child_list);
	free(az->stack);
	for (int i = 0; i < az->nflags; i++)
		free(az->flag_names[i]);
	authz_policy_free(az->policy);
	free(az);
}

static int grow_arr(void *pp, size_t n, size_t size)
{
	void *q = realloc(*(void **)pp, n * size);
	if (!q)
		return -1;
	*(void **)pp = q;
	return 0;
}

static int people_grow(authz_t *az)
{
	size_t cap = az->cap ? az->cap * 2 : 64;
	if (grow_arr(&az->people, cap, sizeof(person_t)) || grow_arr(&az->order, cap, sizeof(int32_t)) ||
	    grow_arr(&az->child_start, cap + 1, sizeof(int32_t)) ||
	    grow_arr(&az->child_list, cap, sizeof(int32_t)) || grow_arr(&az->stack, cap, sizeof(int32_t)))
		return -1;
	az->cap = cap;
	return 0;
}

int authz_put(authz_t *az, int64_t id, int has_manager, int64_t manager, unsigned flags)
{
	unsigned keep = PUBLIC_FLAGS;
	int32_t i = authz_find(az, id);
	if (i >= 0) {
		/* a roles-only change needs no rebuild; a manager change needs one until it is put back */
		person_t *p = &az->people[i];
		int built = (p->flags & BUILT_HAS) != 0;
		int diverged = !(p->flags & ADDED) &&
		               (built != (has_manager != 0) || (has_manager && p->built_manager != manager));
		if (diverged && !(p->flags & DIVERGED))
			az->diverged++;
		else if (!diverged && (p->flags & DIVERGED))
			az->diverged--;
		p->manager = has_manager ? manager : 0;
		p->flags = (flags & keep) | (has_manager ? HAS_MANAGER : 0) |
		           (p->flags & (BUILT_HAS | ADDED)) | (diverged ? DIVERGED : 0);
		az->slots[slot_of(az, id)].flags = p->flags;
		return 0;
	}
	if (az->n >= (size_t)INT32_MAX - 1)
		return -1;
	if (az->n == az->cap && people_grow(az))
		return -1;
	if ((az->n + 1) * 2 > az->slot_cap && slots_grow(az))
		return -1;
	i = (int32_t)az->n++;
	size_t s = slot_of(az, id);
	az->slots[s].key = id;
	az->slots[s].idx = i;
	az->slots[s].parent = az->slots[s].tin = az->slots[s].tout = -1;
	person_t *p = &az->people[i];
	p->id = id;
	p->manager = has_manager ? manager : 0;
	p->built_manager = 0;
	p->flags = (flags & keep) | (has_manager ? HAS_MANAGER : 0) | ADDED;
	p->parent = -1;
	p->tin = p->tout = -1;
	az->slots[s].flags = p->flags;
	az->added++;
	return 0;
}

int authz_remove(authz_t *az, int64_t id)
{
	int32_t i = authz_find(az, id);
	if (i < 0)
		return -1;
	unsigned f = az->people[i].flags;
	if (f & ADDED)
		az->added--; /* removing someone put since the rebuild gives back the graph built */
	else
		az->dirty = 1;
	if (f & DIVERGED)
		az->diverged--;
	slot_delete(az, slot_of(az, id));
	int32_t last = (int32_t)az->n - 1;
	if (i != last) {
		az->people[i] = az->people[last];
		az->slots[slot_of(az, az->people[i].id)].idx = i;
	}
	az->n--;
	return 0;
}

void authz_reset(authz_t *az)
{
	for (size_t i = 0; i < az->slot_cap; i++)
		az->slots[i].idx = -1;
	az->n = 0;
	az->dirty = 1;
	az->diverged = az->added = 0;
}

int authz_needs_rebuild(const authz_t *az)
{
	return az->dirty || az->diverged || az->added;
}

size_t authz_count(const authz_t *az)
{
	return az->n;
}

unsigned authz_flags(const authz_t *az, int64_t id)
{
	const slot_t *s = find_slot(az, id);
	return s ? s->flags & PUBLIC_FLAGS : 0;
}

int authz_get(const authz_t *az, int64_t id, int *has_manager, int64_t *manager, unsigned *flags)
{
	const slot_t *s = find_slot(az, id);
	if (!s)
		return 0;
	const person_t *p = &az->people[s->idx];
	*has_manager = (p->flags & HAS_MANAGER) != 0;
	*manager = p->manager;
	*flags = p->flags & PUBLIC_FLAGS;
	return 1;
}

/* Orders dense indexes by person id (ctx: the people array). */
static int by_id(const void *a, const void *b, void *ctx)
{
	const person_t *P = ctx;
	int64_t x = P[*(const int32_t *)a].id, y = P[*(const int32_t *)b].id;
	return (x > y) - (x < y);
}

static void sort_children(authz_t *az, int32_t *v, int32_t n)
{
	const person_t *P = az->people;
	if (n > 24) {
		qsort_r(v, (size_t)n, sizeof *v, by_id, (void *)P);
		return;
	}
	for (int32_t i = 1; i < n; i++) {
		int32_t x = v[i], j = i;
		while (j > 0 && P[v[j - 1]].id > P[x].id) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Numbers root's tree in preorder from t on; returns the next number. Children whose parent
 * is no longer this node (a cut loop) are skipped. */
static int32_t number_tree(authz_t *az, int32_t root, int32_t t)
{
	person_t *P = az->people;
	int32_t *st = az->stack, *start = az->child_start, *list = az->child_list;
	int32_t sp = 0;
	st[sp++] = root;
	while (sp) {
		int32_t v = st[--sp];
		P[v].tin = t;
		az->order[t++] = v;
		for (int32_t k = start[v + 1] - 1; k >= start[v]; k--)
			if (P[list[k]].parent == v)
				st[sp++] = list[k];
	}
	return t;
}

void authz_rebuild(authz_t *az)
{
	int32_t n = (int32_t)az->n;
	person_t *P = az->people;
	int32_t *start = az->child_start, *list = az->child_list, *cursor = az->stack;
	az->dirty = 0;
	az->diverged = az->added = 0;
	az->loops_cut = 0;
	if (!n)
		return;
	memset(start, 0, ((size_t)n + 1) * sizeof *start);
	for (int32_t i = 0; i < n; i++) {
		P[i].flags &= ~(unsigned)(DIVERGED | ADDED | BUILT_HAS);
		if (P[i].flags & HAS_MANAGER)
			P[i].flags |= BUILT_HAS;
		P[i].built_manager = P[i].manager;
		P[i].parent = (P[i].flags & HAS_MANAGER) ? authz_find(az, P[i].manager) : -1;
		P[i].tin = P[i].tout = -1;
		if (P[i].parent >= 0)
			start[P[i].parent + 1]++;
	}
	for (int32_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	memcpy(cursor, start, (size_t)n * sizeof *cursor);
	for (int32_t i = 0; i < n; i++)
		if (P[i].parent >= 0)
			list[cursor[P[i].parent]++] = i;
	for (int32_t i = 0; i < n; i++)
		if (start[i + 1] - start[i] > 1)
			sort_children(az, list + start[i], start[i + 1] - start[i]);

	int32_t t = 0;
	for (int32_t i = 0; i < n; i++)
		if (P[i].parent < 0)
			t = number_tree(az, i, t);
	/* Whoever is still unnumbered sits on or below a manager loop: walk up from them until a
	 * person repeats (tout marks the walk), cut the loop there, number that tree. */
	for (int32_t i = 0; t < n && i < n; i++) {
		if (P[i].tin >= 0)
			continue;
		int32_t x = i, stamp = -(i + 2);
		while (P[x].tout != stamp) {
			P[x].tout = stamp;
			x = P[x].parent;
		}
		P[x].parent = -1;
		az->loops_cut++;
		t = number_tree(az, x, t);
	}
	/* subtree sizes in reverse preorder (reports before their managers), then tout */
	for (int32_t i = 0; i < n; i++)
		P[i].tout = 0;
	for (int32_t k = n - 1; k >= 0; k--) {
		int32_t v = az->order[k];
		if (P[v].parent >= 0)
			P[P[v].parent].tout += P[v].tout + 1;
	}
	for (int32_t i = 0; i < n; i++)
		P[i].tout += P[i].tin;
	/* refresh the copies in the hash */
	for (size_t k = 0; k < az->slot_cap; k++) {
		slot_t *s = &az->slots[k];
		if (s->idx < 0)
			continue;
		const person_t *p = &P[s->idx];
		s->parent = p->parent;
		s->tin = p->tin;
		s->tout = p->tout;
		s->flags = p->flags;
	}
}

static inline void ensure(authz_t *az)
{
	if (authz_needs_rebuild(az))
		authz_rebuild(az);
}

size_t authz_loops_cut(authz_t *az)
{
	ensure(az);
	return az->loops_cut;
}

static inline authz_rel_t rel_of(const slot_t *a, const slot_t *s)
{
	if (a == s)
		return AUTHZ_REL_SELF;
	if (s->parent == a->idx)
		return AUTHZ_REL_DIRECT_MANAGER;
	if (a->tin < s->tin && s->tin <= a->tout)
		return AUTHZ_REL_INDIRECT_MANAGER;
	if (s->tin < a->tin && a->tin <= s->tout)
		return AUTHZ_REL_ABOVE;
	return AUTHZ_REL_NONE;
}

authz_rel_t authz_relation(authz_t *az, int64_t actor, int64_t subject)
{
	if (actor == subject)
		return AUTHZ_REL_SELF;
	ensure(az);
	const slot_t *a = find_slot(az, actor), *s = find_slot(az, subject);
	if (!a || !s)
		return AUTHZ_REL_NONE;
	return rel_of(a, s);
}

int authz_would_loop(authz_t *az, int64_t id, int64_t new_manager)
{
	if (id == new_manager)
		return 1;
	ensure(az);
	int32_t i = authz_find(az, id), m = authz_find(az, new_manager);
	if (i < 0 || m < 0)
		return 0;
	const person_t *P = az->people;
	return P[i].tin < P[m].tin && P[m].tin <= P[i].tout;
}

size_t authz_reports(authz_t *az, int64_t id, int direct_only, authz_each_fn fn, void *ud)
{
	ensure(az);
	int32_t v = authz_find(az, id);
	size_t count = 0;
	if (v < 0)
		return 0;
	const person_t *P = az->people;
	if (direct_only) {
		for (int32_t k = az->child_start[v]; k < az->child_start[v + 1]; k++) {
			int32_t c = az->child_list[k];
			if (P[c].parent != v)
				continue;
			count++;
			if (fn(P[c].id, ud))
				break;
		}
		return count;
	}
	for (int32_t k = P[v].tin + 1; k <= P[v].tout; k++) {
		count++;
		if (fn(P[az->order[k]].id, ud))
			break;
	}
	return count;
}

size_t authz_chain(authz_t *az, int64_t id, authz_each_fn fn, void *ud)
{
	ensure(az);
	int32_t v = authz_find(az, id);
	size_t count = 0;
	if (v < 0)
		return 0;
	for (int32_t m = az->people[v].parent; m >= 0; m = az->people[m].parent) {
		count++;
		if (fn(az->people[m].id, ud))
			break;
	}
	return count;
}

/* ---------------------------------------------------------------- flags */

static int valid_flag_name(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* The bit of flag name, registering it when create is set; -1 when absent, invalid or full. */
static int flag_index(authz_t *az, const char *name, int create)
{
	for (int i = 0; i < az->nflags; i++)
		if (strcmp(az->flag_names[i], name) == 0)
			return i;
	if (!create || !valid_flag_name(name) || az->nflags == FLAG_MAX)
		return -1;
	char *copy = strdup(name);
	if (!copy)
		return -1;
	az->flag_names[az->nflags] = copy;
	return az->nflags++;
}

int authz_set_flag(authz_t *az, const char *name, int on)
{
	int i = flag_index(az, name, 1);
	if (i < 0)
		return -1;
	if (on)
		az->flags |= 1ULL << i;
	else
		az->flags &= ~(1ULL << i);
	return 0;
}

int authz_flag(const authz_t *az, const char *name)
{
	for (int i = 0; i < az->nflags; i++)
		if (strcmp(az->flag_names[i], name) == 0)
			return (az->flags >> i) & 1;
	return 0;
}

/* ---------------------------------------------------------------- policy */

/* Hashes an action name eight bytes at a time. */
static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 0x243F6A8885A308D3ULL ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001B3ULL;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	uint64_t tail = 0;
	memcpy(&tail, s, len);
	return mix(h ^ tail);
}

/* The index slot of name in p: its action's slot, or the empty slot where it would go. */
static size_t name_slot(const authz_policy_t *p, const char *name, size_t len)
{
	size_t mask = p->index_cap - 1;
	size_t i = hash_name(name, len) & mask;
	for (;; i = (i + 1) & mask) {
		int32_t a = p->index[i];
		if (a < 0)
			return i;
		const action_t *x = &p->actions[a];
		if (x->name_len == len && memcmp(x->def.name, name, len) == 0)
			return i;
	}
}

static int index_grow(authz_policy_t *p)
{
	size_t cap = p->index_cap ? p->index_cap * 2 : 64;
	int32_t *idx = malloc(cap * sizeof *idx);
	if (!idx)
		return -1;
	for (size_t i = 0; i < cap; i++)
		idx[i] = -1;
	free(p->index);
	p->index = idx;
	p->index_cap = cap;
	for (size_t a = 0; a < p->n; a++)
		p->index[name_slot(p, p->actions[a].def.name, p->actions[a].name_len)] = (int32_t)a;
	return 0;
}

authz_policy_t *authz_policy_new(authz_t *az)
{
	authz_policy_t *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->az = az;
	if (index_grow(p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* An action name: lower-case words of [a-z0-9_] joined by dots, at least two of them. */
static int valid_action_name(const char *s)
{
	int dots = 0, word = 0;
	if (!s || strlen(s) > 100)
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (!word)
				return 0;
			dots++;
			word = 0;
		} else if ((*s >= 'a' && *s <= 'z') || *s == '_' || (word && *s >= '0' && *s <= '9')) {
			word++;
		} else {
			return 0;
		}
	}
	return dots > 0 && word > 0;
}

static int present(const char *s)
{
	return s && *s;
}

static int bits(unsigned x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

static int perr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static char *dup_or_null(const char *s, int *oom)
{
	if (!s)
		return NULL;
	char *c = strdup(s);
	if (!c)
		*oom = 1;
	return c;
}

/* A role name: [a-z_], 1 to 40 characters. */
static int valid_role_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 40)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return 0;
	return 1;
}

/* Fills p->role_rules for every mask of the roles declared so far: "role:a+b". 0 or -1. */
static int make_role_rules(authz_policy_t *p)
{
	unsigned all = (1u << p->nroles) - 1;
	for (unsigned m = 1; m <= all; m++) {
		size_t len = 6;
		for (int r = 0; r < p->nroles; r++)
			if (m & (1u << r))
				len += strlen(p->roles[r].name) + 1;
		char *rule = malloc(len);
		if (!rule)
			return -1;
		strcpy(rule, "role:");
		int first = 1;
		for (int r = 0; r < p->nroles; r++)
			if (m & (1u << r)) {
				if (!first)
					strcat(rule, "+");
				strcat(rule, p->roles[r].name);
				first = 0;
			}
		free(p->role_rules[m]);
		p->role_rules[m] = rule;
	}
	return 0;
}

int authz_policy_add_role(authz_policy_t *p, const char *name, const char *label, char *err, size_t errlen)
{
	if (p->n > 0)
		return perr(err, errlen, "roles come before the actions");
	if (!valid_role_name(name))
		return perr(err, errlen, "role name \"%s\" is not lower-case letters and _",
		            name ? name : "");
	if (!present(label))
		return perr(err, errlen, "role %s: missing label", name);
	if (find_role(p->roles, p->nroles, name) >= 0 ||
	    find_role(p->cycle_roles, p->ncycle_roles, name) >= 0)
		return perr(err, errlen, "duplicate role \"%s\"", name);
	if (p->nroles == AUTHZ_MAX_ROLES)
		return perr(err, errlen, "too many roles (at most %d)", AUTHZ_MAX_ROLES);
	role_t *r = &p->roles[p->nroles];
	r->name = strdup(name);
	r->label = strdup(label);
	if (!r->name || !r->label) {
		role_free(r);
		return perr(err, errlen, "out of memory");
	}
	p->nroles++;
	if (make_role_rules(p))
		return perr(err, errlen, "out of memory");
	return 0;
}

int authz_policy_add_cycle_role(authz_policy_t *p, const char *name, const char *label, unsigned acts_as,
                                char *err, size_t errlen)
{
	if (!valid_role_name(name))
		return perr(err, errlen, "cycle role name \"%s\" is not lower-case letters and _",
		            name ? name : "");
	if (!present(label))
		return perr(err, errlen, "cycle role %s: missing label", name);
	if (find_role(p->cycle_roles, p->ncycle_roles, name) >= 0 ||
	    find_role(p->roles, p->nroles, name) >= 0)
		return perr(err, errlen, "duplicate role \"%s\"", name);
	if (!acts_as || (acts_as & ~((1u << p->nroles) - 1)))
		return perr(err, errlen, "cycle role %s: acts_as must name declared roles", name);
	if (p->ncycle_roles == AUTHZ_MAX_CYCLE_ROLES)
		return perr(err, errlen, "too many cycle roles (at most %d)", AUTHZ_MAX_CYCLE_ROLES);
	role_t *r = &p->cycle_roles[p->ncycle_roles];
	r->name = strdup(name);
	r->label = strdup(label);
	r->rule = malloc(strlen(name) + 7);
	if (!r->name || !r->label || !r->rule) {
		role_free(r);
		return perr(err, errlen, "out of memory");
	}
	sprintf(r->rule, "cycle:%s", name);
	r->acts_as = acts_as;
	p->ncycle_roles++;
	return 0;
}

int authz_policy_add(authz_policy_t *p, const authz_action_def_t *def, char *err, size_t errlen)
{
	if (!present(def->name))
		return perr(err, errlen, "missing action");
	if (!valid_action_name(def->name))
		return perr(err, errlen, "action name \"%s\" is not lower-case words joined by dots",
		            def->name);
	size_t len = strlen(def->name);
	if (p->index[name_slot(p, def->name, len)] >= 0)
		return perr(err, errlen, "duplicate action \"%s\"", def->name);
	if (!present(def->section))
		return perr(err, errlen, "missing section");
	if (!present(def->label))
		return perr(err, errlen, "missing label");
	if (!present(def->why))
		return perr(err, errlen, "missing why (write down the reason for this row)");
	action_t a;
	memset(&a, 0, sizeof a);
	for (int r = p->nroles; r < AUTHZ_MAX_ROLES; r++)
		if (def->grant[r] != AUTHZ_GRANT_NO)
			return perr(err, errlen, "a grant for an undeclared role");
	for (int r = 0; r < p->nroles; r++) {
		switch (def->grant[r]) {
		case AUTHZ_GRANT_NO:
			break;
		case AUTHZ_GRANT_YES:
			a.yes |= 1u << r;
			break;
		case AUTHZ_GRANT_IF: {
			if (!valid_flag_name(def->flag[r]))
				return perr(err, errlen, "field %s: \"if:\" needs a flag name of [a-z0-9_.]",
				            p->roles[r].name);
			int f = flag_index(p->az, def->flag[r], 1);
			if (f < 0)
				return perr(err, errlen, "field %s: too many flags", p->roles[r].name);
			a.cond |= 1u << r;
			a.flagbit[r] = (uint8_t)f;
			break;
		}
		default:
			return perr(err, errlen, "field %s: bad grant", p->roles[r].name);
		}
	}
	if (def->all_of & ~((1u << p->nroles) - 1))
		return perr(err, errlen, "field all_of: unknown role");
	if (def->all_of && bits(def->all_of) < 2)
		return perr(err, errlen,
		            "field all_of: needs at least two roles (for one, set that role to true)");
	if (def->everyone && def->confidential)
		return perr(err, errlen, "an action for everyone cannot be confidential");
	a.all_of = (uint8_t)def->all_of;
	a.name_len = len;
	a.def = *def;
	int oom = 0;
	a.def.name = dup_or_null(def->name, &oom);
	a.def.section = dup_or_null(def->section, &oom);
	a.def.label = dup_or_null(def->label, &oom);
	a.def.why = dup_or_null(def->why, &oom);
	for (int r = 0; r < AUTHZ_MAX_ROLES; r++)
		a.def.flag[r] = def->grant[r] == AUTHZ_GRANT_IF ? dup_or_null(def->flag[r], &oom) : NULL;
	if (oom || (p->n == p->cap && grow_arr(&p->actions, p->cap ? p->cap * 2 : 64, sizeof(action_t))) ||
	    ((p->n + 1) * 2 > p->index_cap && index_grow(p)))
		goto fail;
	if (p->n == p->cap)
		p->cap = p->cap ? p->cap * 2 : 64;
	p->actions[p->n] = a;
	p->index[name_slot(p, a.def.name, len)] = (int32_t)p->n;
	p->n++;
	return 0;
fail:
	free((char *)a.def.name);
	free((char *)a.def.section);
	free((char *)a.def.label);
	free((char *)a.def.why);
	for (int r = 0; r < AUTHZ_MAX_ROLES; r++)
		free((char *)a.def.flag[r]);
	return perr(err, errlen, "out of memory");
}

int authz_policy_set_parts(authz_policy_t *p, const char *name, unsigned parts, char *err, size_t errlen)
{
	if (parts & ~(unsigned)AUTHZ_PARTS)
		return perr(err, errlen, "field parts: only author, recipient, named and participant");
	int32_t i = name ? p->index[name_slot(p, name, strlen(name))] : -1;
	if (i < 0)
		return perr(err, errlen, "parts for an unknown action");
	if (parts && p->actions[i].def.everyone)
		return perr(err, errlen, "an action for everyone needs no parts");
	p->actions[i].def.parts = parts;
	return 0;
}

void authz_set_policy(authz_t *az, authz_policy_t *p)
{
	authz_policy_free(az->policy);
	az->policy = p;
}

size_t authz_action_count(const authz_t *az)
{
	return az->policy ? az->policy->n : 0;
}

const authz_action_def_t *authz_action_at(const authz_t *az, size_t i)
{
	return az->policy && i < az->policy->n ? &az->policy->actions[i].def : NULL;
}

int authz_action_find(const authz_t *az, const char *name, size_t len)
{
	if (!az->policy)
		return -1;
	return az->policy->index[name_slot(az->policy, name, len)];
}

/* ---------------------------------------------------------------- decisions */

/* The role mask that grants a to someone holding roles (lowest role first, then conditional
 * roles, then all_of), or 0. */
static inline unsigned grant(const authz_t *az, const action_t *a, unsigned roles)
{
	unsigned g = roles & a->yes;
	if (g)
		return g & (~g + 1);
	if (roles & a->cond)
		for (int r = 0; r < AUTHZ_MAX_ROLES; r++)
			if ((roles & a->cond & (1u << r)) && ((az->flags >> a->flagbit[r]) & 1))
				return 1u << r;
	if (a->all_of && (roles & a->all_of) == a->all_of)
		return a->all_of;
	return 0;
}

/* Whether the actor's effective roles (own, plus the cycle role) grant a; fills rule and detail. */
static inline int by_role(const authz_t *az, const action_t *a, unsigned roles, const authz_ctx_t *ctx,
                          authz_result_t *out)
{
	unsigned g = grant(az, a, roles);
	if (g) {
		out->rule = AUTHZ_RULE_ROLE;
		out->detail = g;
		return 1;
	}
	if (ctx && ctx->cycle_role) {
		unsigned extra = authz_cycle_role_acts_as(az, ctx->cycle_role - 1);
		if (extra && grant(az, a, roles | extra)) {
			out->rule = AUTHZ_RULE_CYCLE_ROLE;
			out->detail = ctx->cycle_role;
			return 1;
		}
	}
	return 0;
}

static inline int met(uint8_t level, uint8_t stage)
{
	return level != AUTHZ_NEVER && stage + 1 >= level;
}

static inline int decide(authz_result_t *out, int allowed, authz_rule_t rule)
{
	out->allowed = allowed;
	out->rule = rule;
	return allowed;
}

int authz_check(authz_t *az, int64_t actor, int action, const authz_ctx_t *ctx, authz_result_t *out)
{
	ensure(az);
	out->detail = 0;
	out->rel = AUTHZ_REL_NONE;
	const slot_t *as = find_slot(az, actor);
	if (!as)
		return decide(out, 0, AUTHZ_RULE_UNKNOWN_ACTOR);
	unsigned flags = as->flags;
	if (!(flags & AUTHZ_ACTIVE))
		return decide(out, 0, AUTHZ_RULE_INACTIVE);
	if (action < 0 || !az->policy || (size_t)action >= az->policy->n)
		return decide(out, 0, AUTHZ_RULE_UNKNOWN_ACTION);
	const action_t *a = &az->policy->actions[action];
	if (flags & AUTHZ_GUEST) {
		int ok = a->def.guest_ok && ctx && (ctx->rel & (AUTHZ_GUEST_REVIEWER | AUTHZ_AUTHOR));
		return decide(out, ok, ok ? AUTHZ_RULE_GUEST_REVIEWER : AUTHZ_RULE_GUEST);
	}
	unsigned part = ctx ? ctx->rel & a->def.parts : 0;
	if (part) /* the object's own people: its author, its recipients, those named in its audience,
	           those taking part in it */
		return decide(out, 1,
		              (part & AUTHZ_AUTHOR)      ? AUTHZ_RULE_PART_AUTHOR
		              : (part & AUTHZ_RECIPIENT) ? AUTHZ_RULE_PART_RECIPIENT
		              : (part & AUTHZ_NAMED)     ? AUTHZ_RULE_PART_NAMED
		                                         : AUTHZ_RULE_PART_PARTICIPANT);
	unsigned roles = flags & AUTHZ_ROLES;
	if (!ctx || !ctx->has_subject) {
		if (by_role(az, a, roles, ctx, out))
			return out->allowed = 1;
		if (a->def.everyone)
			return decide(out, 1, AUTHZ_RULE_EVERYONE);
		return decide(out, 0, AUTHZ_RULE_NO_ROLE);
	}
	const slot_t *ss = find_slot(az, ctx->subject);
	authz_rel_t rel = ss ? rel_of(as, ss) : AUTHZ_REL_NONE;
	out->rel = rel;
	if (a->def.confidential && rel == AUTHZ_REL_ABOVE)
		return decide(out, 0, AUTHZ_RULE_HIERARCHY);
	if (ctx->has_vis) {
		switch (rel) {
		case AUTHZ_REL_SELF:
			return decide(out, met(ctx->vis[AUTHZ_VIS_SELF], ctx->stage), AUTHZ_RULE_VIS_SELF);
		case AUTHZ_REL_DIRECT_MANAGER:
			return decide(out, met(ctx->vis[AUTHZ_VIS_DIRECT_MANAGER], ctx->stage),
			              AUTHZ_RULE_VIS_DIRECT_MANAGER);
		case AUTHZ_REL_INDIRECT_MANAGER:
			return decide(out, met(ctx->vis[AUTHZ_VIS_INDIRECT_MANAGER], ctx->stage),
			              AUTHZ_RULE_VIS_INDIRECT_MANAGER);
		default:
			break;
		}
		if ((ctx->rel & AUTHZ_AUTHOR) && a->def.author_ok)
			return decide(out, 1, AUTHZ_RULE_AUTHOR);
		if ((ctx->rel & AUTHZ_REVIEWER) && met(ctx->vis[AUTHZ_VIS_REVIEWER], ctx->stage))
			return decide(out, 1, AUTHZ_RULE_VIS_REVIEWER);
		if (by_role(az, a, roles, ctx, out))
			return decide(out, met(ctx->vis[AUTHZ_VIS_HR], ctx->stage), AUTHZ_RULE_VIS_HR);
		return decide(out, 0, AUTHZ_RULE_NO_RELATION);
	}
	if (rel == AUTHZ_REL_SELF && a->def.self)
		return decide(out, 1, AUTHZ_RULE_REL_SELF);
	if (rel == AUTHZ_REL_DIRECT_MANAGER && a->def.direct_manager)
		return decide(out, 1, AUTHZ_RULE_REL_DIRECT_MANAGER);
	if (rel == AUTHZ_REL_INDIRECT_MANAGER && a->def.indirect_manager)
		return decide(out, 1, AUTHZ_RULE_REL_INDIRECT_MANAGER);
	if (by_role(az, a, roles, ctx, out))
		return out->allowed = 1;
	if (a->def.everyone)
		return decide(out, 1, AUTHZ_RULE_EVERYONE);
	return decide(out, 0, AUTHZ_RULE_NO_RELATION);
}

size_t authz_check_many(authz_t *az, int64_t actor, const authz_item_t *items, size_t n, uint8_t *allowed)
{
	authz_ctx_t ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.has_subject = 1;
	size_t yes = 0;
	for (size_t i = 0; i < n; i++) {
		authz_result_t r;
		ctx.subject = items[i].subject;
		ctx.rel = items[i].rel;
		allowed[i] = (uint8_t)authz_check(az, actor, items[i].action, &ctx, &r);
		yes += allowed[i];
	}
	return yes;
}

const char *authz_rule_name(const authz_t *az, const authz_result_t *r)
{
	const authz_policy_t *p = az->policy;
	switch (r->rule) {
	case AUTHZ_RULE_UNKNOWN_ACTOR:
		return "unknown_actor";
	case AUTHZ_RULE_INACTIVE:
		return "inactive";
	case AUTHZ_RULE_UNKNOWN_ACTION:
		return "unknown_action";
	case AUTHZ_RULE_GUEST_REVIEWER:
		return "guest_reviewer";
	case AUTHZ_RULE_GUEST:
		return "guest";
	case AUTHZ_RULE_ROLE:
		return p && p->role_rules[r->detail & AUTHZ_ROLES] ? p->role_rules[r->detail & AUTHZ_ROLES]
		                                                   : "role:?";
	case AUTHZ_RULE_CYCLE_ROLE:
		return p && r->detail >= 1 && (int)r->detail <= p->ncycle_roles
		           ? p->cycle_roles[r->detail - 1].rule
		           : "cycle:?";
	case AUTHZ_RULE_EVERYONE:
		return "everyone";
	case AUTHZ_RULE_NO_ROLE:
		return "no_role";
	case AUTHZ_RULE_HIERARCHY:
		return "hierarchy";
	case AUTHZ_RULE_VIS_SELF:
		return "vis:self";
	case AUTHZ_RULE_VIS_DIRECT_MANAGER:
		return "vis:direct_manager";
	case AUTHZ_RULE_VIS_INDIRECT_MANAGER:
		return "vis:indirect_manager";
	case AUTHZ_RULE_AUTHOR:
		return "author";
	case AUTHZ_RULE_VIS_REVIEWER:
		return "vis:reviewer";
	case AUTHZ_RULE_VIS_HR:
		return "vis:hr";
	case AUTHZ_RULE_REL_SELF:
		return "rel:self";
	case AUTHZ_RULE_REL_DIRECT_MANAGER:
		return "rel:direct_manager";
	case AUTHZ_RULE_REL_INDIRECT_MANAGER:
		return "rel:indirect_manager";
	case AUTHZ_RULE_NO_RELATION:
		return "no_relation";
	case AUTHZ_RULE_PART_AUTHOR:
		return "part:author";
	case AUTHZ_RULE_PART_RECIPIENT:
		return "part:recipient";
	case AUTHZ_RULE_PART_NAMED:
		return "part:named";
	case AUTHZ_RULE_PART_PARTICIPANT:
		return "part:participant";
	}
	return "?";
}

/* ---------------------------------------------------------------- words */

/* Appends to a buffer, truncating safely. */
typedef struct sbuf {
	char *p;    /* the buffer */
	size_t len; /* its size */
	size_t at;  /* bytes written */
} sbuf_t;

static void put(sbuf_t *b, const char *fmt, ...)
{
	if (b->at + 1 >= b->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->at, b->len - b->at, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->at = b->at + (size_t)n < b->len ? b->at + (size_t)n : b->len - 1;
}

/* "HR Admin + Tech Admin" for a mask of roles. */
static void role_list(const authz_t *az, sbuf_t *b, unsigned mask, const char *join)
{
	int first = 1;
	for (int r = 0; r < authz_role_count(az); r++)
		if (mask & (1u << r)) {
			put(b, "%s%s", first ? "" : join, authz_role_label(az, r));
			first = 0;
		}
}

void authz_roles_for(const authz_t *az, int action, char *buf, size_t len)
{
	sbuf_t b = {buf, len, 0};
	if (len)
		buf[0] = 0;
	if (action < 0 || !az->policy || (size_t)action >= az->policy->n) {
		put(&b, "Nobody (no such action)");
		return;
	}
	const action_t *a = &az->policy->actions[action];
	const authz_action_def_t *d = &a->def;
	if (d->everyone) {
		put(&b, "Everyone");
		return;
	}
	/* the alternatives, joined "a, b or c" */
	int n = bits(a->yes) + bits(a->cond) + (a->all_of != 0), k = 0;
	for (int r = 0; r < authz_role_count(az); r++) {
		if (!((a->yes | a->cond) & (1u << r)))
			continue;
		put(&b, "%s%s", k == 0 ? "" : (k == n - 1 ? " or " : ", "), authz_role_label(az, r));
		if (a->cond & (1u << r))
			put(&b, " (when %s is on)", d->flag[r]);
		k++;
	}
	if (a->all_of) {
		put(&b, "%s", k == 0 ? "" : " or ");
		role_list(az, &b, a->all_of, " + ");
		k++;
	}
	if (k)
		return;
	put(&b, "No role");
	if (d->self || d->direct_manager || d->indirect_manager) {
		const char *who[3] = {"the person themselves", "their direct manager",
		                      "their indirect managers"};
		int on[3] = {d->self, d->direct_manager, d->indirect_manager}, m = on[0] + on[1] + on[2],
		    j = 0;
		put(&b, ": only ");
		for (int i = 0; i < 3; i++)
			if (on[i]) {
				put(&b, "%s%s", j == 0 ? "" : (j == m - 1 ? " or " : ", "), who[i]);
				j++;
			}
	}
}

/* "they see it once it is shared" */
static const char *level_phrase(uint8_t level)
{
	switch (level) {
	case AUTHZ_ALWAYS:
		return "always";
	case AUTHZ_AFTER_SUBMIT:
		return "once it is submitted";
	case AUTHZ_AFTER_RELEASE:
		return "once it is released to the managers";
	case AUTHZ_AFTER_SHARE:
		return "once it is shared";
	case AUTHZ_AFTER_SIGN:
		return "once it is signed";
	default:
		return "never";
	}
}

static const char *stage_phrase(uint8_t stage)
{
	switch (stage) {
	case AUTHZ_SUBMITTED:
		return "submitted";
	case AUTHZ_RELEASED:
		return "released to the managers";
	case AUTHZ_SHARED:
		return "shared";
	case AUTHZ_SIGNED:
		return "signed";
	default:
		return "a draft";
	}
}

void authz_explain(authz_t *az, int64_t actor, int action, const authz_ctx_t *ctx, const authz_result_t *r,
                   char *buf, size_t len)
{
	sbuf_t b = {buf, len, 0};
	if (len)
		buf[0] = 0;
	const authz_action_def_t *d = action >= 0 ? authz_action_at(az, (size_t)action) : NULL;
	const char *what = d ? d->label : "this";
	long long who = (long long)actor, subj = ctx && ctx->has_subject ? (long long)ctx->subject : 0;
	char roles[256];
	authz_roles_for(az, action, roles, sizeof roles);
	static const char *const party[] = {"the person themselves", "the direct manager",
	                                    "indirect managers"};
	uint8_t stage = ctx ? ctx->stage : 0;
	switch (r->rule) {
	case AUTHZ_RULE_UNKNOWN_ACTOR:
		put(&b, "Person %lld is not known, so they may do nothing.", who);
		break;
	case AUTHZ_RULE_INACTIVE:
		put(&b, "Person %lld is not active (invited, locked or deactivated), so they may do nothing.",
		    who);
		break;
	case AUTHZ_RULE_UNKNOWN_ACTION:
		put(&b, "This action is not in the policy, and whatever the policy does not name is denied.");
		break;
	case AUTHZ_RULE_GUEST_REVIEWER:
		put(&b,
		    "Person %lld is a guest: guests may use \"%s\" only for feedback they were asked to give "
		    "or wrote, as here.",
		    who, what);
		break;
	case AUTHZ_RULE_GUEST:
		put(&b,
		    "Person %lld is a guest: guests see only the feedback they were asked to give, so they "
		    "may not use \"%s\".",
		    who, what);
		break;
	case AUTHZ_RULE_ROLE:
		put(&b, "\"%s\" is allowed for %s, and person %lld holds the ", what, roles, who);
		role_list(az, &b, r->detail, " and ");
		put(&b, bits(r->detail) > 1 ? " roles." : " role.");
		break;
	case AUTHZ_RULE_CYCLE_ROLE: {
		int c = (int)r->detail - 1;
		put(&b,
		    "\"%s\" is allowed for %s, and person %lld holds the cycle role %s in this cycle, which "
		    "counts as ",
		    what, roles, who, authz_cycle_role_label(az, c));
		role_list(az, &b, authz_cycle_role_acts_as(az, c), " + ");
		put(&b, " here.");
		break;
	}
	case AUTHZ_RULE_EVERYONE:
		put(&b, "Everyone in the company may use \"%s\".", what);
		break;
	case AUTHZ_RULE_NO_ROLE:
		put(&b, "\"%s\" is allowed for %s, and person %lld has no role that allows it.", what, roles,
		    who);
		break;
	case AUTHZ_RULE_HIERARCHY:
		put(&b,
		    "\"%s\" shows confidential data and person %lld is above person %lld in their reporting "
		    "chain: nobody, HR Admins included, reads confidential data of someone above them.",
		    what, subj, who);
		break;
	case AUTHZ_RULE_VIS_SELF:
	case AUTHZ_RULE_VIS_DIRECT_MANAGER:
	case AUTHZ_RULE_VIS_INDIRECT_MANAGER: {
		int i = r->rule - AUTHZ_RULE_VIS_SELF;
		uint8_t level = ctx ? ctx->vis[i] : 0;
		put(&b,
		    "The cycle's visibility settings decide for %s, whatever their roles: they see it %s, "
		    "and "
		    "it is %s, so person %lld %s.",
		    party[i], level_phrase(level), stage_phrase(stage), who, r->allowed ? "may" : "may not");
		break;
	}
	case AUTHZ_RULE_AUTHOR:
		put(&b, "Person %lld wrote it, and authors may use \"%s\".", who, what);
		break;
	case AUTHZ_RULE_VIS_REVIEWER:
		put(&b, "Person %lld is a nominated reviewer, and the cycle lets reviewers see it %s.", who,
		    level_phrase(ctx ? ctx->vis[AUTHZ_VIS_REVIEWER] : 0));
		break;
	case AUTHZ_RULE_VIS_HR:
		put(&b, "Person %lld's roles allow \"%s\" and the cycle lets HR see it %s; it is %s, so %s.",
		    who, what, level_phrase(ctx ? ctx->vis[AUTHZ_VIS_HR] : 0), stage_phrase(stage),
		    r->allowed ? "they may" : "the cycle's settings, which supersede roles, hide it");
		break;
	case AUTHZ_RULE_REL_SELF:
		put(&b, "Everyone may use \"%s\" for themselves.", what);
		break;
	case AUTHZ_RULE_REL_DIRECT_MANAGER:
		put(&b, "Person %lld manages person %lld directly, and direct managers may use \"%s\".", who,
		    subj, what);
		break;
	case AUTHZ_RULE_REL_INDIRECT_MANAGER:
		put(&b,
		    "Person %lld is above person %lld in the reporting line, and their managers may use "
		    "\"%s\".",
		    who, subj, what);
		break;
	case AUTHZ_RULE_NO_RELATION:
		put(&b,
		    "Person %lld is not related to person %lld in a way that allows \"%s\", and has no role "
		    "that does (allowed for: %s).",
		    who, subj, what, roles);
		break;
	case AUTHZ_RULE_PART_AUTHOR:
		put(&b, "Person %lld wrote it, and its author may use \"%s\".", who, what);
		break;
	case AUTHZ_RULE_PART_RECIPIENT:
		put(&b, "It is addressed to person %lld, and its recipients may use \"%s\".", who, what);
		break;
	case AUTHZ_RULE_PART_NAMED:
		put(&b, "Person %lld is named in its audience, and those named may use \"%s\".", who, what);
		break;
	case AUTHZ_RULE_PART_PARTICIPANT:
		put(&b, "Person %lld takes part in it, and its participants may use \"%s\".", who, what);
		break;
	}
}
