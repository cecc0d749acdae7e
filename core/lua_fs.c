/* core.fs: the few file operations the application needs (data folder, workflow copies,
 * exports). Blocking, so only for small files and start-up; big work goes to the thread pool. */
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** fs.mkdir(path [, mode=0700]) creates a folder and its parents; true or nil, err */
static int l_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	mode_t mode = (mode_t)luaL_optinteger(L, 2, 0700);
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return host_fail(L, "fs", "cannot create %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return host_fail(L, "fs", "cannot create %s: %s", buf, strerror(errno));
	lua_pushboolean(L, 1);
	return 1;
}

/** fs.stat(path) -> {kind="file"|"dir"|"other", size=, mtime=, mode=, dev=, ino=} or nil (dev and
 * ino tell whether two paths are the same file, links followed) */
static int l_stat(lua_State *L)
{
	struct stat st;
	if (stat(luaL_checkstring(L, 1), &st) != 0)
		return 0;
	lua_createtable(L, 0, 6);
	lua_pushstring(L, S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other");
	lua_setfield(L, -2, "kind");
	lua_pushinteger(L, st.st_size);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, st.st_mtime);
	lua_setfield(L, -2, "mtime");
	lua_pushinteger(L, st.st_mode & 07777);
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, (lua_Integer)st.st_dev);
	lua_setfield(L, -2, "dev");
	lua_pushinteger(L, (lua_Integer)st.st_ino);
	lua_setfield(L, -2, "ino");
	return 1;
}

/** fs.list(dir) -> sorted array of names (no dot files) or nil, err */
static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int l_list(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	if (!d)
		return host_fail(L, "fs", "cannot list %s: %s", path, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		free(names[i]);
	}
	free(names);
	return 1;
}

/** fs.read(path) -> contents or nil, err */
static int l_read(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	FILE *f = fopen(path, "rb");
	if (!f)
		return host_fail(L, "fs", "cannot read %s: %s", path, strerror(errno));
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		luaL_addlstring(&b, chunk, n);
	fclose(f);
	luaL_pushresult(&b);
	return 1;
}

/* Writes all n bytes of data to fd (again after an interruption); 0, or -1 with errno. */
static int write_all(int fd, const char *data, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/** fs.write(path, data [, mode=0600]) writes atomically (temp file, fsync, rename). */
static int l_write(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	mode_t mode = (mode_t)luaL_optinteger(L, 3, 0600);
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return host_fail(L, "fs", "cannot write %s: %s", path, strerror(errno));
	if (write_all(fd, data, n) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return host_fail(L, "fs", "cannot write %s: %s", path, strerror(e));
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return host_fail(L, "fs", "cannot write %s: %s", path, strerror(errno));
	}
	lua_pushboolean(L, 1);
	return 1;
}

/** fs.append(path, data [, mode=0600]) adds data at the end of a file (created when missing), for a
 * file written in slices (an export): no fsync, the writer calls fs.write or rename at the end.
 * true or nil, err */
static int l_append(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	mode_t mode = (mode_t)luaL_optinteger(L, 3, 0600);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
	if (fd < 0)
		return host_fail(L, "fs", "cannot append to %s: %s", path, strerror(errno));
	if (write_all(fd, data, n) != 0) {
		int e = errno;
		close(fd);
		return host_fail(L, "fs", "cannot append to %s: %s", path, strerror(e));
	}
	if (close(fd) != 0)
		return host_fail(L, "fs", "cannot append to %s: %s", path, strerror(errno));
	lua_pushboolean(L, 1);
	return 1;
}

static int l_remove(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	if (unlink(path) != 0 && errno != ENOENT)
		return host_fail(L, "fs", "cannot remove %s: %s", path, strerror(errno));
	lua_pushboolean(L, 1);
	return 1;
}

/** fs.rename(from, to) moves a file within one file system (never over an existing file:
 * refused with EEXIST); true or nil, err */
static int l_rename(lua_State *L)
{
	const char *from = luaL_checkstring(L, 1);
	const char *to = luaL_checkstring(L, 2);
	if (link(from, to) != 0)
		return host_fail(L, "fs", "cannot move %s to %s: %s", from, to, strerror(errno));
	if (unlink(from) != 0) {
		int e = errno;
		unlink(to);
		return host_fail(L, "fs", "cannot move %s: %s", from, strerror(e));
	}
	lua_pushboolean(L, 1);
	return 1;
}

/** fs.access(path, how) whether this process may read ("r"), write ("w") or both ("rw"); for a
 * folder "x" too (enter it) */
static int l_access(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *how = luaL_checkstring(L, 2);
	int mode = 0;
	for (const char *c = how; *c; c++)
		mode |= *c == 'r' ? R_OK : *c == 'w' ? W_OK : *c == 'x' ? X_OK : 0;
	lua_pushboolean(L, access(path, mode ? mode : F_OK) == 0);
	return 1;
}

int luaopen_core_fs(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"mkdir", l_mkdir},   {"stat", l_stat},     {"list", l_list},     {"read", l_read},
	    {"write", l_write},   {"remove", l_remove}, {"rename", l_rename}, {"access", l_access},
	    {"append", l_append}, {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
