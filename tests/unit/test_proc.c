/* Unit tests of core/proc.c: process names that are never reused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proc.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void this_process_is_alive(void **state)
{
	(void)state;
	char name[64];
	assert_int_equal(proc_name(getpid(), name, sizeof name), 0);
	char want[32];
	snprintf(want, sizeof want, "%ld.", (long)getpid());
	assert_memory_equal(name, want, strlen(want));
	assert_true(strlen(name) > strlen(want));
	assert_int_equal(proc_alive(name), 1);
}

static void a_process_that_ended_is_not(void **state)
{
	(void)state;
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c;
		close(ready[1]);
		(void)read(ready[0], &c, 1); /* until the parent has its name */
		_exit(0);
	}
	close(ready[0]);
	char name[64];
	assert_int_equal(proc_name(child, name, sizeof name), 0);
	assert_int_equal(proc_alive(name), 1);
	close(ready[1]);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_int_equal(proc_alive(name), 0);
	assert_int_equal(proc_name(child, name, sizeof name), -1);
}

static void a_reused_pid_is_another_process(void **state)
{
	(void)state;
	char name[64], other[64];
	assert_int_equal(proc_name(getpid(), name, sizeof name), 0);
	/* the same pid, started at another moment */
	snprintf(other, sizeof other, "%ld.1", (long)getpid());
	assert_int_equal(proc_alive(other), 0);
}

static void malformed_names_are_not_alive(void **state)
{
	(void)state;
	const char *bad[] = {"",    "abc",  "12",   "12.",   ".5",
	                     "0.0", "-1.5", "12.x", "12.5z", "99999999999999999999.1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(proc_alive(bad[i]), 0);
	char small[4];
	assert_int_equal(proc_name(getpid(), small, sizeof small), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(this_process_is_alive),
	    cmocka_unit_test(a_process_that_ended_is_not),
	    cmocka_unit_test(a_reused_pid_is_another_process),
	    cmocka_unit_test(malformed_names_are_not_alive),
	};
	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
