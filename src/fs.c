/*
 * fs.c - the durable file operations personalize-local's engine relies on.
 *
 *   core.write_file(path, data) -> true | nil, msg
 *       atomic replace: a temporary file in the same directory is written,
 *       fsync'd and renamed over `path`, then the directory is fsync'd.
 *       A crash at any moment leaves either the old or the new content.
 *   core.append_file(path, data) -> true | nil, msg
 *       appends all of `data` and fsyncs before returning (created 0644).
 *   core.mkdir(path) -> true | nil, msg       like mkdir -p (0755)
 *   core.listdir(path) -> { names } | nil, msg  sorted, without . and ..
 *   core.remove_tree(path) -> true | nil, msg   like rm -rf; absent is fine
 *   core.lock(path) -> lock | nil, msg, "locked"
 *       an exclusive flock on `path` (created); released by lock:unlock(),
 *       garbage collection or the process's death (so kill -9 frees it).
 *   core.isatty(fd) -> boolean
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

#define LOCK_TNAME "personalize.lock"

static int fail(lua_State *L, const char *what, const char *path)
{
	int e = errno;

	lua_pushnil(L);
	lua_pushfstring(L, "%s %s: %s", what, path, strerror(e));
	return 2;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsyncs the directory holding `path`, so a rename in it is durable */
static int sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc;

	if (!slash) {
		strcpy(dir, ".");
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1;
		if (n >= sizeof dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int fs_write_file(lua_State *L)
{
	size_t n;
	const char *path = luaL_checkstring(L, 1);
	const char *data = luaL_checklstring(L, 2, &n);
	static unsigned long counter;
	char tmp[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lu", path, (long)getpid(), ++counter)
	    >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return fail(L, "cannot write", path);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(L, "cannot create", tmp);
	if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
		return fail(L, "cannot write", tmp);
	}
	if (close(fd) != 0) {
		unlink(tmp);
		return fail(L, "cannot write", tmp);
	}
	if (rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return fail(L, "cannot rename onto", path);
	}
	if (sync_parent(path) != 0)
		return fail(L, "cannot sync the directory of", path);
	lua_pushboolean(L, 1);
	return 1;
}

static int fs_append_file(lua_State *L)
{
	size_t n;
	const char *path = luaL_checkstring(L, 1);
	const char *data = luaL_checklstring(L, 2, &n);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		return fail(L, "cannot open", path);
	if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return fail(L, "cannot append to", path);
	}
	if (close(fd) != 0)
		return fail(L, "cannot append to", path);
	lua_pushboolean(L, 1);
	return 1;
}

static int fs_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char buf[PATH_MAX];
	size_t n = strlen(path);
	char *p;

	if (n == 0 || n >= sizeof buf) {
		errno = n == 0 ? ENOENT : ENAMETOOLONG;
		return fail(L, "cannot create directory", path);
	}
	memcpy(buf, path, n + 1);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return fail(L, "cannot create directory", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return fail(L, "cannot create directory", path);
	lua_pushboolean(L, 1);
	return 1;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int fs_listdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	struct dirent *e;
	lua_Integer i = 0;

	if (!d)
		return fail(L, "cannot list", path);
	lua_newtable(L);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		lua_pushstring(L, e->d_name);
		lua_rawseti(L, -2, (int)++i);
	}
	closedir(d);
	/* sort in Lua-independent C order, so listings are deterministic */
	if (i > 1) {
		char **names = malloc((size_t)i * sizeof *names);
		lua_Integer k;

		if (!names)
			return luaL_error(L, "out of memory");
		for (k = 1; k <= i; k++) {
			lua_rawgeti(L, -1, (int)k);
			names[k - 1] = strdup(lua_tostring(L, -1));
			lua_pop(L, 1);
		}
		qsort(names, (size_t)i, sizeof *names, compare_names);
		for (k = 1; k <= i; k++) {
			lua_pushstring(L, names[k - 1] ? names[k - 1] : "");
			lua_rawseti(L, -2, (int)k);
			free(names[k - 1]);
		}
		free(names);
	}
	return 1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int fs_remove_tree(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT) {
			lua_pushboolean(L, 1);
			return 1;
		}
		return fail(L, "cannot remove", path);
	}
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return fail(L, "cannot remove", path);
	lua_pushboolean(L, 1);
	return 1;
}

typedef struct {
	int fd;
} pz_lock;

static int fs_lock(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	pz_lock *lk = lua_newuserdata(L, sizeof *lk);

	lk->fd = -1;
	luaL_getmetatable(L, LOCK_TNAME);
	lua_setmetatable(L, -2);
	lk->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lk->fd < 0)
		return fail(L, "cannot open lock file", path);
	if (flock(lk->fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(lk->fd);
		lk->fd = -1;
		lua_pushnil(L);
		if (e == EWOULDBLOCK) {
			lua_pushfstring(L, "%s is locked by another process", path);
			lua_pushliteral(L, "locked");
			return 3;
		}
		lua_pushfstring(L, "cannot lock %s: %s", path, strerror(e));
		return 2;
	}
	return 1;
}

static int lock_unlock(lua_State *L)
{
	pz_lock *lk = luaL_checkudata(L, 1, LOCK_TNAME);

	if (lk->fd >= 0) {
		close(lk->fd);
		lk->fd = -1;
	}
	return 0;
}

static int fs_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

static const luaL_Reg lock_methods[] = {
	{ "unlock", lock_unlock },
	{ NULL, NULL }
};

static const luaL_Reg lock_meta[] = {
	{ "__gc", lock_unlock },
	{ NULL, NULL }
};

static const luaL_Reg fs_functions[] = {
	{ "write_file", fs_write_file },
	{ "append_file", fs_append_file },
	{ "mkdir", fs_mkdir },
	{ "listdir", fs_listdir },
	{ "remove_tree", fs_remove_tree },
	{ "lock", fs_lock },
	{ "isatty", fs_isatty },
	{ NULL, NULL }
};

void pz_open_fs(lua_State *L)
{
	pz_newclass(L, LOCK_TNAME, lock_methods, lock_meta);
	pz_setfuncs(L, fs_functions, 0);
}
