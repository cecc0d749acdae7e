/* Unit tests of core/scheduler.c on the real migrations (the jobs table of 001 and 015). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATIONS "lua/migrations"

/** The database of the test, and a temp folder for file databases. */
static db_t *db;
static char dir[256];

static db_t *open_migrated(const char *path)
{
	char err[512] = "";
	db_t *d = db_open(path, err, sizeof err);
	if (!d) {
		print_error("db_open: %s\n", err);
		return NULL;
	}
	if (db_migrate(d, MIGRATIONS, 0, err, sizeof err) < 0) {
		print_error("db_migrate: %s\n", err);
		db_close(d);
		return NULL;
	}
	return d;
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	clock_set_virtual(1700000000000);
	snprintf(dir, sizeof dir, "/tmp/candor-sched-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	db = open_migrated(":memory:");
	return db ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	db = NULL;
	clock_set_real();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/** What each_due saw. */
struct seen {
	int n;
	int64_t ids[16];
	int64_t due[16];
	char kinds[16][32];
	int attempts[16];
	int stop_after; /* 0: never stop */
};

static int collect(const sched_job_t *job, void *ud)
{
	struct seen *s = ud;
	s->ids[s->n] = job->id;
	s->due[s->n] = job->due_ms;
	snprintf(s->kinds[s->n], sizeof s->kinds[0], "%s", job->kind);
	s->attempts[s->n] = job->attempts;
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

static int64_t count_jobs(void)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM jobs", -1);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

static int has_key(const char *key)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM jobs WHERE key = ?", -1);
	assert_non_null(st);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

/* Adds a job in lane "main" that a taken key replaces. */
static int64_t add(db_t *d, int64_t due, const char *kind, const char *payload, const char *key)
{
	sched_new_t job = {.due_ms = due, .kind = kind, .payload = payload, .key = key};
	return sched_add(d, &job);
}

static void empty_schedule_has_no_next_due(void **state)
{
	(void)state;
	assert_int_equal(sched_next_due(db), -1);
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, INT64_MAX, 10, NULL, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static void due_jobs_come_by_due_time_then_id(void **state)
{
	(void)state;
	int64_t c = add(db, 300, "c", "{}", NULL);
	int64_t a = add(db, 100, "a", "{\"n\":1}", NULL);
	int64_t b = add(db, 200, "b", NULL, NULL);
	int64_t a2 = add(db, 100, "a2", "{}", NULL);
	assert_true(c > 0 && a > c && b > a && a2 > b);
	assert_int_equal(sched_next_due(db), 100);
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, 250, 10, NULL, collect, &s), 3);
	assert_int_equal(s.ids[0], a);
	assert_int_equal(s.ids[1], a2);
	assert_int_equal(s.ids[2], b);
	assert_string_equal(s.kinds[2], "b");
	assert_int_equal(s.due[2], 200);
	/* the limit, and a callback that stops early */
	memset(&s, 0, sizeof s);
	assert_int_equal(sched_each_due(db, 1000, 2, NULL, collect, &s), 2);
	assert_int_equal(s.ids[1], a2);
	memset(&s, 0, sizeof s);
	s.stop_after = 1;
	assert_int_equal(sched_each_due(db, 1000, 10, NULL, collect, &s), 1);
	assert_int_equal(s.ids[0], a);
	/* nothing before the first due time */
	memset(&s, 0, sizeof s);
	assert_int_equal(sched_each_due(db, 99, 10, NULL, collect, &s), 0);
}

static void payload_defaults_to_an_empty_object(void **state)
{
	(void)state;
	int64_t id = add(db, 5, "k", NULL, NULL);
	sqlite3_stmt *st = db_prepare(db, "SELECT payload, created_ms FROM jobs WHERE id = ?", -1);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "{}");
	assert_int_equal(sqlite3_column_int64(st, 1), 1700000000000); /* the (virtual) clock */
	sqlite3_reset(st);
}

static void done_removes_the_job(void **state)
{
	(void)state;
	int64_t a = add(db, 100, "a", "{}", NULL);
	int64_t b = add(db, 200, "b", "{}", NULL);
	assert_int_equal(sched_done(db, a), 0);
	assert_int_equal(sched_next_due(db), 200);
	assert_int_equal(sched_done(db, b), 0);
	assert_int_equal(sched_next_due(db), -1);
}

static void same_key_replaces_the_job(void **state)
{
	(void)state;
	int64_t id = add(db, 500, "remind", "{\"v\":1}", "cycle:1:remind");
	assert_true(id > 0);
	assert_int_equal(sched_retry(db, id, 700, "smtp down"), 0);
	int64_t again = add(db, 900, "remind2", "{\"v\":2}", "cycle:1:remind");
	assert_int_equal(again, id);
	assert_int_equal(count_jobs(), 1);
	assert_int_equal(sched_next_due(db), 900);
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, 1000, 10, NULL, collect, &s), 1);
	assert_string_equal(s.kinds[0], "remind2");
	assert_int_equal(s.attempts[0], 0); /* re-planned: attempts start over */
	/* jobs without a key never replace each other */
	add(db, 1, "x", "{}", NULL);
	add(db, 1, "x", "{}", NULL);
	assert_int_equal(count_jobs(), 3);
}

static void cancel_by_exact_key(void **state)
{
	(void)state;
	add(db, 1, "k", "{}", "a%b");
	add(db, 1, "k", "{}", "a_b");
	add(db, 1, "k", "{}", "axb");
	add(db, 1, "k", "{}", "a%bc");
	assert_int_equal(sched_cancel(db, "a%b", 0), 1);
	assert_int_equal(has_key("a%b"), 0);
	assert_int_equal(has_key("a%bc"), 1);
	assert_int_equal(sched_cancel(db, "a_b", 0), 1);
	assert_int_equal(has_key("axb"), 1);
	assert_int_equal(sched_cancel(db, "nothing", 0), 0);
	assert_int_equal(count_jobs(), 2);
}

static void cancel_by_prefix_takes_no_wildcards(void **state)
{
	(void)state;
	add(db, 1, "k", "{}", "cycle:1:invite");
	add(db, 2, "k", "{}", "cycle:1:remind");
	add(db, 3, "k", "{}", "cycle:10:invite");
	add(db, 4, "k", "{}", "cycle:%:x");
	add(db, 5, "k", "{}", "cycle_1:y");
	add(db, 6, "k", "{}", "cycle:1:\xe2\x9c\x93"); /* non-ASCII after the prefix */
	assert_int_equal(sched_cancel(db, "cycle:1:", 1), 3);
	assert_int_equal(has_key("cycle:10:invite"), 1);
	/* '%' is not "anything" */
	assert_int_equal(sched_cancel(db, "cycle:%", 1), 1);
	assert_int_equal(has_key("cycle:%:x"), 0);
	assert_int_equal(has_key("cycle:10:invite"), 1);
	/* '_' is not "any one character" */
	assert_int_equal(sched_cancel(db, "cycle_", 1), 1);
	assert_int_equal(has_key("cycle:10:invite"), 1);
	assert_int_equal(count_jobs(), 1);
	assert_int_equal(sched_next_due(db), 3);
}

static void retry_moves_the_job_and_counts_attempts(void **state)
{
	(void)state;
	int64_t id = add(db, 100, "mail", "{}", NULL);
	add(db, 150, "other", "{}", NULL);
	assert_int_equal(sched_retry(db, id, 1000, "timeout"), 0);
	assert_int_equal(sched_next_due(db), 150);
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, 999, 10, NULL, collect, &s), 1);
	assert_string_equal(s.kinds[0], "other");
	assert_int_equal(sched_retry(db, id, 2000, "timeout again"), 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(sched_each_due(db, 2000, 10, NULL, collect, &s), 2);
	assert_int_equal(s.ids[1], id);
	assert_int_equal(s.due[1], 2000);
	assert_int_equal(s.attempts[1], 2);
	sqlite3_stmt *st = db_prepare(db, "SELECT last_error FROM jobs WHERE id = ?", -1);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "timeout again");
	sqlite3_reset(st);
}

static void jobs_survive_closing_and_reopening(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/jobs.db", dir);
	db_t *file = open_migrated(path);
	assert_non_null(file);
	int64_t id = add(file, 5000, "later", "{\"cycle\":7}", "cycle:7:close");
	add(file, 6000, "later", "{}", NULL);
	assert_int_equal(sched_retry(file, id, 5500, "x"), 0);
	db_close(file);

	file = open_migrated(path);
	assert_non_null(file);
	assert_int_equal(sched_next_due(file), 5500);
	struct seen s = {0};
	assert_int_equal(sched_each_due(file, 10000, 10, NULL, collect, &s), 2);
	assert_int_equal(s.ids[0], id);
	assert_int_equal(s.attempts[0], 1);
	assert_int_equal(s.due[1], 6000);
	/* the key still replaces after the restart */
	assert_int_equal(add(file, 7000, "later", "{}", "cycle:7:close"), id);
	assert_int_equal(sched_next_due(file), 6000);
	db_close(file);
}

/* Adds a job with every field given. */
static int64_t add_in(int64_t due, const char *kind, const char *payload, const char *key, const char *lane,
                      sched_conflict_t how)
{
	sched_new_t job = {
	    .due_ms = due, .kind = kind, .payload = payload, .key = key, .lane = lane, .on_conflict = how};
	return sched_add(db, &job);
}

/* One column of job id, as an integer. */
static int64_t column(int64_t id, const char *col)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT %s FROM jobs WHERE id = ?", col);
	sqlite3_stmt *st = db_prepare(db, sql, -1);
	assert_non_null(st);
	sqlite3_bind_int64(st, 1, id);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	return v;
}

static void a_claimed_job_holds_its_lane_and_other_lanes_go_on(void **state)
{
	(void)state;
	int64_t m1 = add_in(100, "mail.send", "{}", NULL, "mail", SCHED_REPLACE);
	int64_t m2 = add_in(110, "mail.send", "{}", NULL, "mail", SCHED_REPLACE);
	int64_t w = add_in(120, "workflow.step", "{}", NULL, NULL, SCHED_REPLACE);
	assert_int_equal(sched_claim(db, m1, "1.1"), 1);
	assert_int_equal(sched_claim(db, m1, "2.2"), 0); /* once */
	/* the mail lane is busy: its second job waits, the main lane's goes */
	assert_int_equal(sched_next_due(db), 120);
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, 1000, 10, NULL, collect, &s), 1);
	assert_int_equal(s.ids[0], w);
	memset(&s, 0, sizeof s);
	assert_int_equal(sched_each_due(db, 1000, 10, "mail", collect, &s), 0);
	/* done: the lane is free again, its next job comes first */
	assert_int_equal(sched_done(db, m1), 0);
	assert_int_equal(sched_next_due(db), 110);
	memset(&s, 0, sizeof s);
	assert_int_equal(sched_each_due(db, 1000, 10, "mail", collect, &s), 1);
	assert_int_equal(s.ids[0], m2);
	assert_string_equal(s.kinds[0], "mail.send");
	/* a job gone meanwhile cannot be claimed */
	assert_int_equal(sched_claim(db, m1, "1.1"), 0);
}

static void a_coalescing_key_keeps_one_job_at_the_earlier_time(void **state)
{
	(void)state;
	int64_t id = add_in(500, "hook.run", "{\"hook\":1}", "hook:1", "hook:1", SCHED_KEEP_EARLIER);
	assert_int_equal(sched_retry(db, id, 900, "down"), 0);
	/* later: nothing moves, the job keeps its payload and its attempts */
	assert_int_equal(add_in(2000, "hook.run", "{\"hook\":2}", "hook:1", "hook:1", SCHED_KEEP_EARLIER),
	                 id);
	assert_int_equal(column(id, "due_ms"), 900);
	assert_int_equal(column(id, "attempts"), 1);
	/* earlier: the job moves up */
	assert_int_equal(add_in(700, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER), id);
	assert_int_equal(count_jobs(), 1);
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, 1000, 10, NULL, collect, &s), 1);
	assert_int_equal(s.due[0], 700);
	assert_int_equal(s.attempts[0], 1);
	sqlite3_stmt *st = db_prepare(db, "SELECT payload FROM jobs WHERE id = ?", -1);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "{\"hook\":1}");
	sqlite3_reset(st);
	/* the same key without keep-earlier replaces, as before */
	assert_int_equal(add_in(3000, "hook.run", "{}", "hook:1", "hook:1", SCHED_REPLACE), id);
	assert_int_equal(column(id, "due_ms"), 3000);
	assert_int_equal(column(id, "attempts"), 0);
}

static void work_coalesced_into_a_running_job_runs_after_it(void **state)
{
	(void)state;
	int64_t id = add_in(100, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER);
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	/* an event comes while it runs: the run may have looked already, so the job stays */
	assert_int_equal(add_in(1500, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER), id);
	assert_int_equal(add_in(1800, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER), id);
	assert_int_equal(sched_next_due(db), -1); /* still running */
	assert_int_equal(sched_done(db, id), 0);
	assert_int_equal(count_jobs(), 1);
	assert_int_equal(sched_next_due(db), 1500);
	/* the next run ends: gone */
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	assert_int_equal(sched_done(db, id), 0);
	assert_int_equal(count_jobs(), 0);
	/* the run that comes after a coalesced one starts a fresh series of attempts */
	id = add_in(100, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER);
	assert_int_equal(sched_retry(db, id, 100, "down"), 0);
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	add_in(100, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER);
	assert_int_equal(sched_done(db, id), 0);
	assert_int_equal(column(id, "attempts"), 0);
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	assert_int_equal(sched_done(db, id), 0);
	/* a failed run keeps its backoff however much work came meanwhile */
	id = add_in(100, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER);
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	add_in(1000, "hook.run", "{}", "hook:1", "hook:1", SCHED_KEEP_EARLIER);
	assert_int_equal(sched_retry(db, id, 60000, "down"), 0);
	assert_int_equal(sched_next_due(db), 60000);
	assert_int_equal(column(id, "attempts"), 1);
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	assert_int_equal(sched_done(db, id), 0);
	assert_int_equal(count_jobs(), 0);
}

static void a_job_replaced_while_it_runs_keeps_the_new_plan(void **state)
{
	(void)state;
	int64_t id = add(db, 100, "workflow.step", "{\"v\":1}", "cycle:1:wf:step:s1");
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	assert_int_equal(add(db, 5000, "workflow.step", "{\"v\":2}", "cycle:1:wf:step:s1"), id);
	assert_int_equal(sched_done(db, id), 0);
	assert_int_equal(count_jobs(), 1);
	assert_int_equal(sched_next_due(db), 5000);
	/* the old plan failing does not touch the new one */
	assert_int_equal(sched_claim(db, id, "1.1"), 1);
	assert_int_equal(add(db, 7000, "workflow.step", "{\"v\":3}", "cycle:1:wf:step:s1"), id);
	assert_int_equal(sched_retry(db, id, 6000, "failed"), 0);
	assert_int_equal(column(id, "due_ms"), 7000);
	assert_int_equal(column(id, "attempts"), 0);
	assert_int_equal(sched_next_due(db), 7000);
}

/* Claimants whose name starts with "alive" run; the others are gone. */
static int fake_alive(const char *claimant, void *ud)
{
	int *asked = ud;
	(*asked)++;
	return strncmp(claimant, "alive", 5) == 0;
}

static void claims_of_processes_that_are_gone_are_released(void **state)
{
	(void)state;
	int64_t a = add_in(100, "k", "{}", NULL, "a", SCHED_REPLACE);
	int64_t b = add_in(100, "k", "{}", NULL, "b", SCHED_REPLACE);
	int64_t c = add_in(100, "k", "{}", NULL, "c", SCHED_REPLACE);
	assert_int_equal(sched_claim(db, a, "alive.1"), 1);
	assert_int_equal(sched_claim(db, b, "dead.1"), 1);
	assert_int_equal(sched_claim(db, c, "dead.1"), 1);
	assert_int_equal(sched_next_due(db), -1);
	int asked = 0;
	assert_int_equal(sched_release(db, fake_alive, &asked), 2);
	assert_int_equal(asked, 2); /* once per claimant */
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, 1000, 10, NULL, collect, &s), 2);
	assert_int_equal(s.ids[0], b);
	assert_int_equal(s.ids[1], c);
	assert_int_equal(sched_claim(db, a, "other.1"), 0); /* the live claim stands */
}

static void a_job_is_found_by_its_key(void **state)
{
	(void)state;
	int64_t id = add_in(100, "mail.send", "{\"outbox_id\":7}", "mail:7", "mail", SCHED_REPLACE);
	struct seen s = {0};
	assert_int_equal(sched_find(db, "mail:7", collect, &s), 1);
	assert_int_equal(s.ids[0], id);
	assert_int_equal(sched_find(db, "mail:8", collect, &s), 0);
}

/** A job cancelled while it runs, then a new job: the new one never takes the running one's id,
 * so finishing or retrying the first cannot remove or move the second. */
static void ids_are_never_reused(void **state)
{
	(void)state;
	int64_t running = add(db, 1000, "slow", "{}", "run:1");
	assert_int_equal(sched_claim(db, running, "p1"), 1);
	assert_int_equal(sched_cancel(db, "run:1", 0), 1);
	int64_t next = add(db, 2000, "next", "{}", "run:2");
	assert_true(next != running);
	assert_int_equal(sched_done(db, running), 0);
	assert_int_equal(has_key("run:2"), 1);
	assert_int_equal(sched_retry(db, running, 9000, "failed"), 0);
	struct seen s = {0};
	assert_int_equal(sched_each_due(db, 5000, 16, NULL, collect, &s), 1);
	assert_int_equal(s.ids[0], next);
	assert_int_equal(s.due[0], 2000);
	assert_int_equal(s.attempts[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(empty_schedule_has_no_next_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(due_jobs_come_by_due_time_then_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(payload_defaults_to_an_empty_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(done_removes_the_job, setup, teardown),
	    cmocka_unit_test_setup_teardown(same_key_replaces_the_job, setup, teardown),
	    cmocka_unit_test_setup_teardown(cancel_by_exact_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(cancel_by_prefix_takes_no_wildcards, setup, teardown),
	    cmocka_unit_test_setup_teardown(retry_moves_the_job_and_counts_attempts, setup, teardown),
	    cmocka_unit_test_setup_teardown(jobs_survive_closing_and_reopening, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_claimed_job_holds_its_lane_and_other_lanes_go_on, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_coalescing_key_keeps_one_job_at_the_earlier_time, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(work_coalesced_into_a_running_job_runs_after_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_job_replaced_while_it_runs_keeps_the_new_plan, setup, teardown),
	    cmocka_unit_test_setup_teardown(claims_of_processes_that_are_gone_are_released, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_job_is_found_by_its_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(ids_are_never_reused, setup, teardown),
	};
	return cmocka_run_group_tests_name("scheduler", tests, NULL, NULL);
}
