/* The command line: serve, test, run, and the admin commands (implemented in lua/cli.lua). */
#include "clock.h"
#include "crypto.h"
#include "host.h"
#include "log.h"
#include "loop.h"
#include "sandbox_proto.h"
#include "version.h"

#include <dirent.h>
#include <lauxlib.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** A command and the flags it accepts ("--name=" takes a value, "--name" does not). */
struct command {
	const char *name;
	const char *flags[6];
	int min_args, max_args; /* positional arguments (-1: any number) */
	const char *usage;
};

static const struct command commands[] = {
    {"serve",
     {"--data=", "--listen=", "--demo"},
     0,
     0,
     "serve [--data DIR] [--listen HOST:PORT] [--demo]   run the server (demo: fill a new folder with a "
     "sample company)"},
    {"test",
     {"--filter="},
     0,
     -1,
     "test [--filter TEXT] [PATH...]                   run scenario files (default tests/scenarios)"},
    {"run",
     {"--data="},
     1,
     -1,
     "run [--data DIR] SCRIPT.lua [ARGS...]           run an admin script against a data folder"},
    {"migrate",
     {"--data="},
     0,
     0,
     "migrate [--data DIR]                             apply pending schema migrations"},
    {"backup",
     {"--data="},
     1,
     1,
     "backup [--data DIR] FILE                         write a consistent copy of the database"},
    {"rotate-key",
     {"--data="},
     0,
     0,
     "rotate-key [--data DIR]                          re-encrypt everything under a new master key"},
    {"audit",
     {"--data="},
     1,
     1,
     "audit [--data DIR] verify                        check the audit log's hash chain"},
    {"import",
     {"--data=", "--dry-run"},
     1,
     1,
     "import [--data DIR] [--dry-run] FILE.csv         add and update people from a CSV file"},
    {"version", {NULL}, 0, 0, "version                                          print the version"},
    {"help", {NULL}, 0, 1, "help                                             this text"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f,
	        "Candor %s: performance reviews, 360 feedback, objectives, 1:1s and praise.\n\n"
	        "usage: candor COMMAND [FLAGS] [ARGS]\n\n",
	        CANDOR_VERSION);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  candor %s\n", commands[i].usage);
	fprintf(f, "\nEvery command also takes --app DIR (the lua/ folder; default: next to the binary).\n"
	           "Environment: CANDOR_DEMO_PASSWORD sets the demo password.\n");
}

static int bad_usage(const char *fmt, const char *what)
{
	fprintf(stderr, "candor: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n\n");
	usage(stderr);
	return 2;
}

/* The lua/ folder: --app, $CANDOR_APP, or ../lua next to the binary. */
static int find_app_dir(const char *given, char *out, size_t len)
{
	if (given) {
		snprintf(out, len, "%s", given);
	} else if (getenv("CANDOR_APP")) {
		snprintf(out, len, "%s", getenv("CANDOR_APP"));
	} else {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n <= 0)
			return -1;
		exe[n] = 0;
		snprintf(out, len, "%s/../lua", dirname(exe));
	}
	char real[PATH_MAX];
	if (!realpath(out, real))
		return -1;
	snprintf(out, len, "%s", real);
	char probe[PATH_MAX + 16];
	snprintf(probe, sizeof probe, "%s/cli.lua", out);
	return access(probe, R_OK) == 0 ? 0 : -1;
}

/** Result of a top-level task. */
struct outcome {
	int finished;
	int ok;
	int code; /* exit code the task returned */
	int passed, failed;
};

static void main_done(task_t *t, int ok, int nres, const char *msg)
{
	struct outcome *o = t->ud;
	o->finished = 1;
	o->ok = ok;
	if (!ok) {
		fprintf(stderr, "candor: %s\n", msg);
		o->code = 1;
		return;
	}
	int base = lua_gettop(t->co) - nres + 1;
	o->code = nres >= 1 && lua_isinteger(t->co, base) ? (int)lua_tointeger(t->co, base) : 0;
	if (nres >= 3) {
		o->passed = (int)lua_tointeger(t->co, base + 1);
		o->failed = (int)lua_tointeger(t->co, base + 2);
	}
}

/* Calls require("cli").main(cmd, opts, args) as a task; opts/args are on the stack. */
static void start_cli(const char *cmd, struct outcome *o)
{
	lua_State *L = H->L;
	/* stack: opts, args */
	lua_getglobal(L, "require");
	lua_pushliteral(L, "cli");
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		fprintf(stderr, "candor: cannot load the application: %s\n", lua_tostring(L, -1));
		lua_pop(L, 3);
		o->finished = 1;
		o->code = 1;
		return;
	}
	lua_getfield(L, -1, "main");
	lua_remove(L, -2);
	lua_pushstring(L, cmd);
	lua_rotate(L, -4, 2);           /* main, cmd, opts, args */
	task_start(3, main_done, o, 0); /* runs to its end: no shared snapshot */
}

static void push_args(lua_State *L, char **argv, int from, int to)
{
	lua_createtable(L, to - from, 0);
	for (int i = from; i < to; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - from + 1);
	}
}

/* Collects *.lua files under path (sorted) into the Lua array on top of the stack. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void collect_scenarios(lua_State *L, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		lua_pushstring(L, path);
		lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
		return;
	}
	struct dirent **list;
	int n = scandir(path, &list, NULL, by_name);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		size_t len = strlen(name);
		char full[PATH_MAX];
		snprintf(full, sizeof full, "%s/%s", path, name);
		if (name[0] != '.' && name[0] != '_') {
			struct stat s2;
			if (stat(full, &s2) == 0 && S_ISDIR(s2.st_mode))
				collect_scenarios(L, full);
			else if (len > 4 && strcmp(name + len - 4, ".lua") == 0)
				collect_scenarios(L, full);
		}
		free(list[i]);
	}
	free(list);
}

/* candor test: every scenario file runs in a fresh host (new Lua state, in-memory database,
 * virtual clock). */
static int cmd_test(const char *app_dir, const char *filter, char **paths, int npaths)
{
	/* list the files with a throwaway state */
	lua_State *L = luaL_newstate();
	lua_newtable(L);
	if (npaths == 0)
		collect_scenarios(L, "tests/scenarios");
	for (int i = 0; i < npaths; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0) {
			fprintf(stderr, "candor test: no such file or folder: %s\n", paths[i]);
			lua_close(L);
			return 2;
		}
		collect_scenarios(L, paths[i]);
	}
	int nfiles = (int)luaL_len(L, -1);
	char **files = calloc((size_t)nfiles + 1, sizeof *files);
	for (int i = 0; i < nfiles; i++) {
		lua_rawgeti(L, -1, i + 1);
		files[i] = strdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_close(L);
	int passed = 0, failed = 0;
	for (int i = 0; i < nfiles; i++) {
		uv_loop_t loop;
		uv_loop_init(&loop);
		struct outcome o = {0};
		if (host_init(&loop, app_dir) != 0) {
			fprintf(stderr, "candor test: cannot start a Lua state\n");
			return 1;
		}
		lua_State *HL = H->L;
		lua_createtable(HL, 0, 2);
		if (filter) {
			lua_pushstring(HL, filter);
			lua_setfield(HL, -2, "filter");
		}
		lua_createtable(HL, 1, 0);
		lua_pushstring(HL, files[i]);
		lua_rawseti(HL, -2, 1);
		start_cli("test", &o);
		while (!o.finished && uv_run(&loop, UV_RUN_ONCE))
			;
		if (!o.finished) {
			fprintf(stderr,
			        "FAIL %s: the scenario stopped waiting for something that never came\n",
			        files[i]);
			failed++;
		} else if (!o.ok) {
			failed++;
		} else {
			passed += o.passed;
			failed += o.failed;
		}
		host_close();
		clock_set_real();
		uv_loop_close(&loop);
		free(files[i]);
	}
	free(files);
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed > 0 || passed == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	/* a sandbox worker process (core/sandbox_pool.c starts them): not a command for people */
	if (argc >= 2 && strcmp(argv[1], "sandbox-worker") == 0)
		return sandbox_worker_main(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(077); /* the database, key and exports hold confidential data */
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		name = "help";
	if (strcmp(name, "--version") == 0)
		name = "version";
	const struct command *cmd = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return bad_usage("unknown command '%s'", name);
	if (strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(name, "version") == 0) {
		printf("candor %s\n", CANDOR_VERSION);
		return 0;
	}

	/* flags come before positional arguments; for `run`, everything after the script is its own */
	const char *app_flag = NULL;
	const char *values[6] = {0};
	int present[6] = {0};
	int i = 2;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		char flag[128];
		const char *eq = strchr(argv[i], '=');
		size_t flen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if (flen >= sizeof flag)
			return bad_usage("bad flag '%s'", argv[i]);
		memcpy(flag, argv[i], flen);
		flag[flen] = 0;
		if (strcmp(flag, "--app") == 0) {
			if (!eq && i + 1 >= argc)
				return bad_usage("flag '%s' needs a value", flag);
			app_flag = eq ? eq + 1 : argv[++i];
			continue;
		}
		int found = -1;
		for (int f = 0; f < 6 && cmd->flags[f]; f++) {
			size_t n = strlen(cmd->flags[f]);
			int takes = cmd->flags[f][n - 1] == '=';
			if (strncmp(cmd->flags[f], flag, takes ? n - 1 : n) == 0 &&
			    flen == (takes ? n - 1 : n)) {
				found = f;
				if (takes) {
					if (eq)
						values[f] = eq + 1;
					else if (i + 1 < argc)
						values[f] = argv[++i];
					else
						return bad_usage("flag '%s' needs a value", flag);
					if (!*values[f])
						return bad_usage("flag '%s' needs a value", flag);
				} else if (eq) {
					return bad_usage("flag '%s' takes no value", flag);
				}
				present[f] = 1;
			}
		}
		if (found < 0) {
			char msg[256];
			snprintf(msg, sizeof msg, "%s does not take the flag", name);
			fprintf(stderr, "candor: %s '%s'\n\n", msg, flag);
			usage(stderr);
			return 2;
		}
	}
	int nargs = argc - i;
	if (nargs < cmd->min_args ||
	    (cmd->max_args >= 0 && nargs > cmd->max_args && strcmp(name, "run") != 0))
		return bad_usage("wrong number of arguments for '%s'", name);

	char app_dir[PATH_MAX];
	if (find_app_dir(app_flag, app_dir, sizeof app_dir) != 0) {
		fprintf(stderr, "candor: cannot find the application folder (lua/); use --app DIR\n");
		return 1;
	}
	if (sec_init() != 0) {
		fprintf(stderr, "candor: cannot initialise libsodium\n");
		return 1;
	}

	if (strcmp(name, "test") == 0)
		return cmd_test(app_dir, values[0], argv + i, nargs);

	uv_loop_t *loop = uv_default_loop();
	if (host_init(loop, app_dir) != 0) {
		fprintf(stderr, "candor: cannot start a Lua state\n");
		return 1;
	}
	loop_watch_signals();
	lua_State *L = H->L;
	lua_newtable(L);
	for (int f = 0; f < 6 && cmd->flags[f]; f++) {
		if (!present[f])
			continue;
		char key[64];
		snprintf(key, sizeof key, "%s", cmd->flags[f] + 2);
		size_t n = strlen(key);
		if (key[n - 1] == '=')
			key[n - 1] = 0;
		if (values[f])
			lua_pushstring(L, values[f]);
		else
			lua_pushboolean(L, 1);
		lua_setfield(L, -2, key);
	}
	push_args(L, argv, i, argc);
	struct outcome o = {0};
	start_cli(name, &o);
	uv_run(loop, UV_RUN_DEFAULT);
	int code = o.finished ? o.code : 1;
	host_close();
	return code;
}
