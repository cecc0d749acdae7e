/** The permission evaluator: the org graph (people, managers, roles) held in memory with
 * Euler-tour intervals for O(1) ancestor checks, the roles and grants loaded from policies/,
 * and one decision function, authz_check, that every access goes through. Plain C, no Lua.
 * The decision algorithm is documented rule by rule in policies/README.md. The roles are the
 * policy's (policies/roles_list.lua): role i of the policy in force is the flag bit 1 << i. */
#ifndef CANDOR_AUTHZ_H
#define CANDOR_AUTHZ_H

#include <stddef.h>
#include <stdint.h>

/** Most roles a policy declares; role i is the bit 1 << i of a person's flags and of role masks. */
#define AUTHZ_MAX_ROLES 8
/** Most cycle roles a policy declares. */
#define AUTHZ_MAX_CYCLE_ROLES 4

/** A person's flags: the role bits, then these. */
enum {
	AUTHZ_ROLES = 0xFFu,    /* all role bits */
	AUTHZ_GUEST = 1u << 8,  /* an external guest account */
	AUTHZ_ACTIVE = 1u << 9, /* may act at all (not deactivated, locked or invited) */
};

/** How an actor relates to a subject in the reporting tree. */
typedef enum authz_rel {
	AUTHZ_REL_NONE,             /* unrelated (or one of them unknown) */
	AUTHZ_REL_SELF,             /* the same person */
	AUTHZ_REL_DIRECT_MANAGER,   /* the actor is the subject's manager */
	AUTHZ_REL_INDIRECT_MANAGER, /* the actor is further up the subject's chain */
	AUTHZ_REL_ABOVE,            /* the subject is up the actor's chain */
} authz_rel_t;

/** When a cycle lets someone see something. */
typedef enum authz_level {
	AUTHZ_NEVER,         /* never */
	AUTHZ_ALWAYS,        /* from the draft on */
	AUTHZ_AFTER_SUBMIT,  /* once submitted */
	AUTHZ_AFTER_RELEASE, /* once released to the managers (360 feedback) */
	AUTHZ_AFTER_SHARE,   /* once shared */
	AUTHZ_AFTER_SIGN,    /* once signed */
} authz_level_t;

/** Where a review or feedback is in its life. */
typedef enum authz_stage {
	AUTHZ_DRAFT,     /* being written */
	AUTHZ_SUBMITTED, /* submitted */
	AUTHZ_RELEASED,  /* released to the subject's managers (360 feedback) */
	AUTHZ_SHARED,    /* shared with the subject */
	AUTHZ_SIGNED,    /* signed */
} authz_stage_t;

/** The parties a cycle's visibility settings name (indexes of authz_ctx_t.vis). */
enum {
	AUTHZ_VIS_SELF,             /* the subject */
	AUTHZ_VIS_DIRECT_MANAGER,   /* their manager */
	AUTHZ_VIS_INDIRECT_MANAGER, /* managers further up */
	AUTHZ_VIS_HR,               /* people whose roles grant the action */
	AUTHZ_VIS_REVIEWER,         /* nominated reviewers */
	AUTHZ_VIS_N,                /* count */
};

/** The actor's part in the object at hand (bits of authz_ctx_t.rel). */
enum {
	AUTHZ_AUTHOR = 1u << 0,         /* wrote it */
	AUTHZ_REVIEWER = 1u << 1,       /* is a nominated reviewer */
	AUTHZ_GUEST_REVIEWER = 1u << 2, /* is a guest nominated as reviewer */
	AUTHZ_RECIPIENT = 1u << 3,      /* it is addressed to them (a message's recipient) */
	AUTHZ_NAMED = 1u << 4,          /* they are named in its audience (a note shared with them) */
	AUTHZ_PARTICIPANT = 1u << 5,    /* they take part in it (one of the two people of a 1:1 series) */
};

/** What a decision is about beyond actor and action. Zero-initialised means: no subject,
 * no visibility settings, draft, no cycle role, no part in the object. */
typedef struct authz_ctx {
	int has_subject;          /* subject is set */
	int64_t subject;          /* the person whose data it is */
	int has_vis;              /* vis holds a cycle's visibility settings */
	uint8_t vis[AUTHZ_VIS_N]; /* authz_level_t per party */
	uint8_t stage;            /* authz_stage_t */
	uint8_t cycle_role;       /* 0, or 1 + the policy index of the actor's role in this cycle */
	uint8_t rel;              /* AUTHZ_AUTHOR | AUTHZ_REVIEWER | ... | AUTHZ_NAMED */
} authz_ctx_t;

/** Which rule decided; authz_rule_name gives its short name (policies/README.md). */
typedef enum authz_rule {
	AUTHZ_RULE_UNKNOWN_ACTOR,        /* "unknown_actor" */
	AUTHZ_RULE_INACTIVE,             /* "inactive" */
	AUTHZ_RULE_UNKNOWN_ACTION,       /* "unknown_action" */
	AUTHZ_RULE_GUEST_REVIEWER,       /* "guest_reviewer" */
	AUTHZ_RULE_GUEST,                /* "guest" */
	AUTHZ_RULE_ROLE,                 /* "role:<role>[+<role>...]" (detail: the granting role mask) */
	AUTHZ_RULE_CYCLE_ROLE,           /* "cycle:<cycle role>" (detail: ctx.cycle_role) */
	AUTHZ_RULE_EVERYONE,             /* "everyone" */
	AUTHZ_RULE_NO_ROLE,              /* "no_role" */
	AUTHZ_RULE_HIERARCHY,            /* "hierarchy" */
	AUTHZ_RULE_VIS_SELF,             /* "vis:self" */
	AUTHZ_RULE_VIS_DIRECT_MANAGER,   /* "vis:direct_manager" */
	AUTHZ_RULE_VIS_INDIRECT_MANAGER, /* "vis:indirect_manager" */
	AUTHZ_RULE_AUTHOR,               /* "author" */
	AUTHZ_RULE_VIS_REVIEWER,         /* "vis:reviewer" */
	AUTHZ_RULE_VIS_HR,               /* "vis:hr" */
	AUTHZ_RULE_REL_SELF,             /* "rel:self" */
	AUTHZ_RULE_REL_DIRECT_MANAGER,   /* "rel:direct_manager" */
	AUTHZ_RULE_REL_INDIRECT_MANAGER, /* "rel:indirect_manager" */
	AUTHZ_RULE_NO_RELATION,          /* "no_relation" */
	AUTHZ_RULE_PART_AUTHOR,          /* "part:author" */
	AUTHZ_RULE_PART_RECIPIENT,       /* "part:recipient" */
	AUTHZ_RULE_PART_NAMED,           /* "part:named" */
	AUTHZ_RULE_PART_PARTICIPANT,     /* "part:participant" */
} authz_rule_t;

/** The last rule (for loops over every rule). */
#define AUTHZ_RULE_LAST AUTHZ_RULE_PART_PARTICIPANT

/** The ctx.rel bits a policy may name in an action's parts. */
#define AUTHZ_PARTS (AUTHZ_AUTHOR | AUTHZ_RECIPIENT | AUTHZ_NAMED | AUTHZ_PARTICIPANT)

/** A decision. */
typedef struct authz_result {
	int allowed;       /* 1 allow, 0 deny */
	authz_rule_t rule; /* the rule that decided */
	unsigned detail;   /* role mask for AUTHZ_RULE_ROLE, ctx.cycle_role for AUTHZ_RULE_CYCLE_ROLE */
	authz_rel_t rel;   /* the actor's relation to ctx.subject (NONE without a subject) */
} authz_result_t;

/** A role cell of a policy entry. */
typedef enum authz_grant {
	AUTHZ_GRANT_NO,  /* the role does not allow the action */
	AUTHZ_GRANT_YES, /* it does */
	AUTHZ_GRANT_IF,  /* it does while the named flag is set */
} authz_grant_t;

/** One action of the policy (one row of the permission cheat sheet). authz_policy_add copies
 * the strings; the evaluator's copy is what authz_action_at returns. */
typedef struct authz_action_def {
	const char *name;                     /* e.g. "users.invite" */
	const char *section;                  /* e.g. "User management" */
	const char *label;                    /* e.g. "Invite users" */
	const char *why;                      /* the reason for the decisions in this row */
	authz_grant_t grant[AUTHZ_MAX_ROLES]; /* per role of the policy: no, yes, or if flag */
	const char *flag[AUTHZ_MAX_ROLES];    /* the flag of an AUTHZ_GRANT_IF cell, else NULL */
	unsigned all_of;                      /* roles that together allow it (0: none) */
	int everyone;                         /* every active non-guest person may */
	int confidential;                     /* reads confidential data (hierarchy rule applies) */
	int guest_ok;                         /* guests may, as reviewer or author */
	int author_ok;                        /* the author may, under visibility settings */
	int self;                             /* default without vis: the subject themselves may */
	int direct_manager;                   /* default without vis: the direct manager may */
	int indirect_manager;                 /* default without vis: managers further up may */
	unsigned parts;                       /* ctx.rel bits (AUTHZ_PARTS) that allow it outright */
} authz_action_def_t;

/** The evaluator: people, the policy in force, and the policy flags. */
typedef struct authz authz_t;
/** A policy being built; installed with authz_set_policy. */
typedef struct authz_policy authz_policy_t;

/** A new empty evaluator (no people, no actions: everything is denied). NULL when out of memory. */
authz_t *authz_new(void);
/** Frees it and its policy. NULL is fine. */
void authz_free(authz_t *az);

/** Adds or replaces person id. flags: roles | AUTHZ_GUEST | AUTHZ_ACTIVE. has_manager says
 * whether manager is set; a manager that is not (yet) known makes the person a root until it
 * is. Marks the graph for rebuild. 0, or -1 when out of memory. */
int authz_put(authz_t *az, int64_t id, int has_manager, int64_t manager, unsigned flags);
/** Removes person id; their reports become roots until the id comes back. 0, or -1 if absent. */
int authz_remove(authz_t *az, int64_t id);
/** Removes everybody (the policy and flags stay). */
void authz_reset(authz_t *az);
/** Recomputes parents, reports and the Euler-tour intervals in O(n). Queries do it themselves
 * when the graph changed since; calling it right after a batch of changes keeps the next
 * query fast. Manager loops in the input are cut (the person where the loop was found keeps no
 * manager) and counted. Never allocates. */
void authz_rebuild(authz_t *az);
/** Number of people. */
size_t authz_count(const authz_t *az);
/** 1 when the next decision has to rebuild the graph: it differs from the one built last. A
 * change put back as it was (a manager changed, then changed back) leaves it clean. */
int authz_needs_rebuild(const authz_t *az);
/** Number of manager loops the last rebuild had to cut (0 for good input). */
size_t authz_loops_cut(authz_t *az);
/** The dense index of person id (0..count-1, stable until the next put or remove), or -1.
 * One hash lookup; the benchmark's anchor. */
int32_t authz_find(const authz_t *az, int64_t id);
/** Flags of person id, or 0 when unknown. */
unsigned authz_flags(const authz_t *az, int64_t id);
/** Person id as put: 1 and *has_manager, *manager, *flags filled, or 0 when unknown. */
int authz_get(const authz_t *az, int64_t id, int *has_manager, int64_t *manager, unsigned *flags);

/** 1 when making new_manager id's manager would close a loop: new_manager is id or one of
 * id's direct or indirect reports. */
int authz_would_loop(authz_t *az, int64_t id, int64_t new_manager);
/** The relation of actor to subject. */
authz_rel_t authz_relation(authz_t *az, int64_t actor, int64_t subject);
/** Called with each person id in a listing; return non-zero to stop. */
typedef int (*authz_each_fn)(int64_t id, void *ud);
/** Calls fn for id's reports: direct reports by ascending id, or all reports in preorder
 * (every manager before their own reports). Returns how many were visited. */
size_t authz_reports(authz_t *az, int64_t id, int direct_only, authz_each_fn fn, void *ud);
/** Calls fn for id's managers, nearest first. Returns how many were visited. */
size_t authz_chain(authz_t *az, int64_t id, authz_each_fn fn, void *ud);

/** Sets or clears a policy flag (e.g. "people.assistant_can_change_manager"); unknown names are
 * registered. 0, or -1 when the name is invalid or 64 flags exist already. */
int authz_set_flag(authz_t *az, const char *name, int on);
/** Whether flag name is set (0 for unknown names). */
int authz_flag(const authz_t *az, const char *name);

/** A new empty policy for az (flags named by its entries are registered in az). */
authz_policy_t *authz_policy_new(authz_t *az);
/** Declares the next role (bit 1 << count) with its name ([a-z_]) and the label people read.
 * Roles come before actions. 0, or -1 with the problem in err (bad or duplicate name, too many). */
int authz_policy_add_role(authz_policy_t *p, const char *name, const char *label, char *err, size_t errlen);
/** Declares a role a person may hold in one cycle (ctx.cycle_role = its index + 1): within that
 * cycle they count as also holding the roles in acts_as. 0, or -1 with the problem in err. */
int authz_policy_add_cycle_role(authz_policy_t *p, const char *name, const char *label, unsigned acts_as,
                                char *err, size_t errlen);
/** Validates def and appends a copy. 0, or -1 with the problem written to err (e.g.
 * "duplicate action", "missing why"). */
int authz_policy_add(authz_policy_t *p, const authz_action_def_t *def, char *err, size_t errlen);
/** Sets the parts of action name, added to p before: the ctx.rel bits (AUTHZ_AUTHOR,
 * AUTHZ_RECIPIENT, AUTHZ_NAMED, AUTHZ_PARTICIPANT) that allow it outright. 0, or -1 with the problem in err.
 */
int authz_policy_set_parts(authz_policy_t *p, const char *name, unsigned parts, char *err, size_t errlen);
/** Replaces az's policy with p (taking ownership). */
void authz_set_policy(authz_t *az, authz_policy_t *p);
/** Frees a policy that was not installed. NULL is fine. */
void authz_policy_free(authz_policy_t *p);

/** Number of actions in the policy in force. */
size_t authz_action_count(const authz_t *az);
/** Action i in policy order, or NULL. */
const authz_action_def_t *authz_action_at(const authz_t *az, size_t i);
/** The index of action name (len bytes), or -1. One hash lookup, no allocation. */
int authz_action_find(const authz_t *az, const char *name, size_t len);

/** The decision for actor doing action (an index from authz_action_find, -1 for unknown)
 * in ctx (NULL: a global action). Returns out->allowed. Never allocates. */
int authz_check(authz_t *az, int64_t actor, int action, const authz_ctx_t *ctx, authz_result_t *out);
/** One object of a bulk decision (authz_check_many): which action, about whom, and the actor's
 * part in it. */
typedef struct authz_item {
	int action;      /* an index from authz_action_find (-1: not in the policy, denied) */
	int64_t subject; /* the person whose data it is (an objective's owner) */
	uint8_t rel;     /* the actor's part in this object: AUTHZ_AUTHOR | AUTHZ_NAMED | ... */
} authz_item_t;

/** Decides n objects for actor at once, each exactly as authz_check with ctx { subject, rel }
 * would: allowed[i] is 1 or 0. Returns how many are allowed. A list, a count or a tree of
 * thousands of objects asks once instead of once per row. Never allocates. */
size_t authz_check_many(authz_t *az, int64_t actor, const authz_item_t *items, size_t n, uint8_t *allowed);
/** The short name of the rule in r ("role:hr_admin", "vis:hr", ...); valid while the policy
 * in force is. */
const char *authz_rule_name(const authz_t *az, const authz_result_t *r);
/** Writes a sentence explaining r (the result of that very check) to buf. */
void authz_explain(authz_t *az, int64_t actor, int action, const authz_ctx_t *ctx, const authz_result_t *r,
                   char *buf, size_t len);
/** Writes which roles allow action i, e.g. "HR Admin or Tech Admin", "HR Admin + Tech Admin". */
void authz_roles_for(const authz_t *az, int action, char *buf, size_t len);

/** Parses a level name ("never", "always", "after_submit", "after_release", "after_share", "after_sign").
 * 0 or -1. */
int authz_level_parse(const char *s, authz_level_t *out);
/** Parses a stage name ("draft", "submitted", "released", "shared", "signed"). 0 or -1. */
int authz_stage_parse(const char *s, authz_stage_t *out);
/** Name of a relation ("self", "direct_manager", "indirect_manager", "above", "none"). */
const char *authz_rel_name(authz_rel_t r);
/** Number of roles of the policy in force. */
int authz_role_count(const authz_t *az);
/** Name of role i of the policy in force (e.g. "hr_admin"), or "?". */
const char *authz_role_name(const authz_t *az, int i);
/** Label of role i (e.g. "HR Admin"), or "?". */
const char *authz_role_label(const authz_t *az, int i);
/** Index of the role called s, or -1. */
int authz_role_parse(const authz_t *az, const char *s);
/** Number of cycle roles of the policy in force. */
int authz_cycle_role_count(const authz_t *az);
/** Name of cycle role i (e.g. "admin"), or "?". */
const char *authz_cycle_role_name(const authz_t *az, int i);
/** Label of cycle role i (e.g. "Cycle admin"), or "?". */
const char *authz_cycle_role_label(const authz_t *az, int i);
/** The roles cycle role i counts as (a role mask). */
unsigned authz_cycle_role_acts_as(const authz_t *az, int i);
/** Index of the cycle role called s, or -1. */
int authz_cycle_role_parse(const authz_t *az, const char *s);

#endif
