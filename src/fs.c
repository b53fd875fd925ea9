/*
 * fs.c - the durable file operations personalize-local's engine relies on.
 *
 *   core.write_file(path, data) -> true | nil, msg
 *       atomic replace: a temporary file in the same directory is written,
 *       fsync'd and renamed over `path`, then the directory is fsync'd.
 *       A crash at any moment leaves either the old or the new content,
 *       and at most a temporary file named "<path>.tmp.XXXXXX" (six
 *       characters of [A-Za-z0-9]) that the engine removes when it opens.
 *   core.append_file(path, data) -> true | nil, msg
 *       appends all of `data` and fsyncs before returning (created 0644).
 *   core.mkdir(path) -> true | nil, msg       like mkdir -p (0755)
 *   core.listdir(path) -> { names } | nil, msg  sorted, without . and ..
 *   core.remove_tree(path) -> true | nil, msg   like rm -rf; absent is fine
 *   core.lock(path) -> lock | nil, msg, "locked"
 *       an exclusive flock on `path` (created); released by lock:unlock(),
 *       garbage collection or the process's death (so kill -9 frees it).
 *   core.isatty(fd) -> boolean
 *   core.copy_files(dest, { src, ... }) -> size, md5_hex | nil, msg
 *       atomic like write_file, for contents too large for a Lua string:
 *       the sources are concatenated in bounded chunks into a temporary
 *       file beside `dest`, which is fsync'd and renamed over `dest`. The
 *       size and MD5 of the result come back (S3's ETag of an upload).
 *       On failure the temporary file is gone and `dest` is untouched.
 *   core.fsync(path) -> true | nil, msg
 *       fsyncs a file or a directory (after a mkdir or an unlink in it).
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

#include <openssl/evp.h>

#include "core.h"
#include "sigv4.h"

#define LOCK_TNAME "personalize.lock"
#define COPY_CHUNK ((size_t)256 * 1024)

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
	int fd, rc;

	if (!slash) {
		strcpy(dir, ".");
	} else {
		size_t n = (size_t)(slash - path);
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

/*
 * Creates and opens (O_EXCL, close-on-exec, 0644) a fresh temporary file
 * "<path>.tmp.XXXXXX" beside `path`, its name written to `tmp`. mkostemp
 * picks the six characters ([A-Za-z0-9]) and retries on a clash, so
 * threads and processes writing the same path never share a temporary
 * file, and nothing here keeps state between calls. Returns the fd, or -1
 * with errno set and tmp[0] == '\0'.
 */
static int open_temp(char *tmp, size_t size, const char *path)
{
	int fd;

	if (snprintf(tmp, size, "%s.tmp.XXXXXX", path) >= (int)size) {
		tmp[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		tmp[0] = '\0';
		return -1;
	}
	/* mkostemp creates 0600; the engine's files are 0644 like before */
	if (fchmod(fd, 0644) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		errno = e;
		return -1;
	}
	return fd;
}

static int fs_write_file(lua_State *L)
{
	size_t n;
	const char *path = luaL_checkstring(L, 1);
	const char *data = luaL_checklstring(L, 2, &n);
	char tmp[PATH_MAX];
	int fd;

	fd = open_temp(tmp, sizeof tmp, path);
	if (fd < 0)
		return fail(L, "cannot create a temporary file for", path);
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

/*
 * Appends the contents of `src` to `fd`, feeding `md`. Returns 0, or -1
 * with errno set (and *src_failed telling whether reading was the cause).
 */
static int copy_into(int fd, const char *src, unsigned char *chunk,
		     EVP_MD_CTX *md, long long *size, int *src_failed)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);

	*src_failed = 1;
	if (in < 0)
		return -1;
	for (;;) {
		ssize_t r = read(in, chunk, COPY_CHUNK);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0) {
			close(in);
			return 0;
		}
		*src_failed = 0;
		if (write_all(fd, (const char *)chunk, (size_t)r) != 0)
			break;
		*src_failed = 1;
		if (!EVP_DigestUpdate(md, chunk, (size_t)r)) {
			errno = EIO;
			break;
		}
		*size += r;
	}
	{
		int e = errno;

		close(in);
		errno = e;
	}
	return -1;
}

static int fs_copy_files(lua_State *L)
{
	const char *dest = luaL_checkstring(L, 1);
	char tmp[PATH_MAX];
	unsigned char digest[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	const char *what = "cannot write", *where;
	unsigned char *chunk;
	EVP_MD_CTX *md = NULL;
	long long size = 0;
	size_t nsrc, i;
	int fd = -1, e;

	luaL_checktype(L, 2, LUA_TTABLE);
	nsrc = pz_rawlen(L, 2);
	for (i = 1; i <= nsrc; i++) {
		lua_rawgeti(L, 2, (int)i);
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_argerror(L, 2, "a list of file names expected");
		lua_pop(L, 1);
	}
	/* the GC owns the buffer, so nothing leaks if a later call raises */
	chunk = lua_newuserdata(L, COPY_CHUNK);
	tmp[0] = '\0';
	/* from here on every exit goes through `done`, freeing `md` */
	md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_md5(), NULL)) {
		errno = ENOMEM;
		what = "cannot hash for";
		where = dest;
		goto done;
	}
	fd = open_temp(tmp, sizeof tmp, dest);
	if (fd < 0) {
		what = "cannot create a temporary file for";
		where = dest;
		goto done;
	}
	for (i = 1; i <= nsrc; i++) {
		int src_failed;

		lua_rawgeti(L, 2, (int)i);
		/* the string stays alive in the table while we use it */
		where = lua_tostring(L, -1);
		lua_pop(L, 1);
		if (copy_into(fd, where, chunk, md, &size, &src_failed) != 0) {
			if (src_failed) {
				what = "cannot read";
			} else {
				what = "cannot write";
				where = tmp;
			}
			goto done;
		}
	}
	where = tmp;
	if (fsync(fd) != 0)
		goto done;
	e = close(fd);
	fd = -1;
	if (e != 0)
		goto done;
	if (!EVP_DigestFinal_ex(md, digest, &dlen)) {
		errno = EIO;
		goto done;
	}
	if (rename(tmp, dest) != 0) {
		what = "cannot rename onto";
		where = dest;
		goto done;
	}
	tmp[0] = '\0';		/* renamed: nothing to remove any more */
	if (sync_parent(dest) != 0) {
		what = "cannot sync the directory of";
		where = dest;
		goto done;
	}
	EVP_MD_CTX_free(md);
	sigv4_hex(hex, digest, dlen);
	lua_pushinteger(L, (lua_Integer)size);
	lua_pushlstring(L, hex, 2 * (size_t)dlen);
	return 2;
done:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	EVP_MD_CTX_free(md);
	errno = e;
	/* `where` may name tmp, which is still a valid buffer here */
	return fail(L, what, where[0] ? where : dest);
}

static int fs_fsync(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc, e;

	if (fd < 0)
		return fail(L, "cannot open", path);
	rc = fsync(fd);
	e = errno;
	close(fd);
	if (rc != 0) {
		errno = e;
		return fail(L, "cannot fsync", path);
	}
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
	{ "copy_files", fs_copy_files },
	{ "fsync", fs_fsync },
	{ NULL, NULL }
};

void pz_open_fs(lua_State *L)
{
	pz_newclass(L, LOCK_TNAME, lock_methods, lock_meta);
	pz_setfuncs(L, fs_functions, 0);
}
