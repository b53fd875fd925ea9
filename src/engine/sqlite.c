/*
 * sqlite.c - the SQLite database personalize-local keeps its state in.
 *
 *   local db, err = ecore.sqlite_open(path)   -- WAL, synchronous=FULL
 *   local ok, err = db:exec(sql)              -- one or more statements, no parameters
 *   local n, err = db:run(sql, ...)           -- one statement with ? parameters -> rows changed
 *   local rows, err = db:rows(sql, ...)       -- { { col1, col2, ... }, ... }
 *   db:close()                                -- also on __gc; safe twice
 *
 * Parameters are nil, booleans (stored as 0/1), numbers (integers when
 * they are whole and fit in 64 bits) and strings (bound as text, copied by
 * SQLite). Columns come back as strings, integers, floats or nil.
 * Failures of SQLite (a locked or corrupt file, a constraint) return nil
 * and SQLite's message; misuse (a closed database, a table as parameter)
 * raises. A prepared statement lives in a userdata box while rows are
 * pushed, so a memory error raised by Lua never leaks it.
 *
 * Each handle is used by one Lua state at a time (SQLite's default
 * serialized mode would allow more; nothing here needs it). Nothing is
 * process-wide.
 */
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "engine.h"

#define DB_TNAME "personalize.engine.sqlite"
#define STMT_TNAME "personalize.engine.sqlite_stmt"

/* Milliseconds a writer waits for another connection's lock. */
#define BUSY_TIMEOUT_MS 10000

typedef struct {
	sqlite3 *db;
} pz_db;

typedef struct {
	sqlite3_stmt *stmt;
} pz_stmt;

static pz_db *check_open(lua_State *L)
{
	pz_db *d = luaL_checkudata(L, 1, DB_TNAME);

	if (d->db == NULL)
		luaL_error(L, "attempt to use a closed database");
	return d;
}

/* nil, SQLite's message for `db`, prefixed with `what`. */
static int fail(lua_State *L, sqlite3 *db, const char *what)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	return 2;
}

static int sqlite_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	pz_db *d = lua_newuserdata(L, sizeof *d);
	char *msg = NULL;
	int rc;

	d->db = NULL;
	luaL_getmetatable(L, DB_TNAME);
	lua_setmetatable(L, -2);
	rc = sqlite3_open_v2(path, &d->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int n = fail(L, d->db, path);

		sqlite3_close(d->db);	/* a handle is returned even on failure */
		d->db = NULL;
		return n;
	}
	sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
	/*
	 * WAL: readers never block the writer; synchronous=FULL: a COMMIT
	 * that returned survives a power cut, not only a crash of the process.
	 */
	rc = sqlite3_exec(d->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				 "PRAGMA foreign_keys=ON;", NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_close(d->db);
		d->db = NULL;
		return 2;
	}
	return 1;
}

static int db_close(lua_State *L)
{
	pz_db *d = luaL_checkudata(L, 1, DB_TNAME);

	if (d->db != NULL) {
		/* close_v2 defers the close until stray statements are finalized. */
		sqlite3_close_v2(d->db);
		d->db = NULL;
	}
	return 0;
}

static int db_exec(lua_State *L)
{
	pz_db *d = check_open(L);
	const char *sql = luaL_checkstring(L, 2);
	char *msg = NULL;
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		lua_pushnil(L);
		lua_pushstring(L, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int stmt_gc(lua_State *L)
{
	pz_stmt *s = luaL_checkudata(L, 1, STMT_TNAME);

	if (s->stmt != NULL) {
		sqlite3_finalize(s->stmt);
		s->stmt = NULL;
	}
	return 0;
}

/*
 * Prepares `sql` (argument 2) into a new box on top of the stack and binds
 * arguments 3.. to its parameters. Returns the box, or NULL with nil and a
 * message pushed (the box is then empty and left for the GC).
 */
static pz_stmt *prepare(lua_State *L, pz_db *d)
{
	size_t len;
	const char *sql = luaL_checklstring(L, 2, &len);
	int top = lua_gettop(L);
	pz_stmt *s = lua_newuserdata(L, sizeof *s);
	int i, rc;

	s->stmt = NULL;
	luaL_getmetatable(L, STMT_TNAME);
	lua_setmetatable(L, -2);
	rc = sqlite3_prepare_v2(d->db, sql, (int)len, &s->stmt, NULL);
	if (rc != SQLITE_OK) {
		fail(L, d->db, "cannot prepare statement");
		return NULL;
	}
	if (sqlite3_bind_parameter_count(s->stmt) != top - 2) {
		lua_pushnil(L);
		lua_pushfstring(L, "the statement has %d parameters, %d values given",
				sqlite3_bind_parameter_count(s->stmt), top - 2);
		return NULL;
	}
	for (i = 3; i <= top; i++) {
		int p = i - 2;

		switch (lua_type(L, i)) {
		case LUA_TNIL:
			rc = sqlite3_bind_null(s->stmt, p);
			break;
		case LUA_TBOOLEAN:
			rc = sqlite3_bind_int(s->stmt, p, lua_toboolean(L, i));
			break;
		case LUA_TNUMBER: {
			lua_Number n = lua_tonumber(L, i);

			if (n == floor(n) && n >= -9.2e18 && n <= 9.2e18)
				rc = sqlite3_bind_int64(s->stmt, p, (sqlite3_int64)n);
			else
				rc = sqlite3_bind_double(s->stmt, p, (double)n);
			break;
		}
		case LUA_TSTRING: {
			size_t n;
			const char *v = lua_tolstring(L, i, &n);

			rc = sqlite3_bind_text64(s->stmt, p, v, (sqlite3_uint64)n,
						 SQLITE_TRANSIENT, SQLITE_UTF8);
			break;
		}
		default:
			luaL_argerror(L, i, "expected nil, a boolean, a number or a string");
			return NULL;	/* not reached */
		}
		if (rc != SQLITE_OK) {
			fail(L, d->db, "cannot bind parameter");
			return NULL;
		}
	}
	return s;
}

static void push_column(lua_State *L, sqlite3_stmt *stmt, int c)
{
	switch (sqlite3_column_type(stmt, c)) {
	case SQLITE_INTEGER:
#if LUA_VERSION_NUM >= 503
		lua_pushinteger(L, (lua_Integer)sqlite3_column_int64(stmt, c));
#else
		lua_pushnumber(L, (lua_Number)sqlite3_column_int64(stmt, c));
#endif
		break;
	case SQLITE_FLOAT:
		lua_pushnumber(L, sqlite3_column_double(stmt, c));
		break;
	case SQLITE_NULL:
		lua_pushnil(L);
		break;
	default: {	/* text and blobs: bytes as stored */
		const void *p = sqlite3_column_blob(stmt, c);
		int n = sqlite3_column_bytes(stmt, c);

		lua_pushlstring(L, p ? (const char *)p : "", (size_t)n);
		break;
	}
	}
}

static int db_run(lua_State *L)
{
	pz_db *d = check_open(L);
	pz_stmt *s = prepare(L, d);
	int rc;

	if (s == NULL)
		return 2;
	while ((rc = sqlite3_step(s->stmt)) == SQLITE_ROW)
		;
	sqlite3_finalize(s->stmt);
	s->stmt = NULL;
	if (rc != SQLITE_DONE)
		return fail(L, d->db, "statement failed");
	lua_pushinteger(L, (lua_Integer)sqlite3_changes(d->db));
	return 1;
}

static int db_rows(lua_State *L)
{
	pz_db *d = check_open(L);
	pz_stmt *s = prepare(L, d);
	int rc, ncol, n = 0;

	if (s == NULL)
		return 2;
	ncol = sqlite3_column_count(s->stmt);
	lua_newtable(L);
	while ((rc = sqlite3_step(s->stmt)) == SQLITE_ROW) {
		int c;

		lua_createtable(L, ncol, 0);
		for (c = 0; c < ncol; c++) {
			push_column(L, s->stmt, c);
			lua_rawseti(L, -2, c + 1);
		}
		lua_rawseti(L, -2, ++n);
	}
	sqlite3_finalize(s->stmt);
	s->stmt = NULL;
	if (rc != SQLITE_DONE)
		return fail(L, d->db, "query failed");
	return 1;
}

static int db_tostring(lua_State *L)
{
	pz_db *d = luaL_checkudata(L, 1, DB_TNAME);

	lua_pushfstring(L, "personalize.engine.sqlite (%s)",
			d->db ? sqlite3_db_filename(d->db, "main") : "closed");
	return 1;
}

static const luaL_Reg db_methods[] = {
	{ "exec", db_exec },
	{ "run", db_run },
	{ "rows", db_rows },
	{ "close", db_close },
	{ NULL, NULL }
};

static const luaL_Reg db_meta[] = {
	{ "__gc", db_close },
	{ "__tostring", db_tostring },
	{ NULL, NULL }
};

static const luaL_Reg stmt_methods[] = {
	{ NULL, NULL }
};

static const luaL_Reg stmt_meta[] = {
	{ "__gc", stmt_gc },
	{ NULL, NULL }
};

static const luaL_Reg sqlite_functions[] = {
	{ "sqlite_open", sqlite_open },
	{ NULL, NULL }
};

void pz_open_sqlite(lua_State *L)
{
	pz_newclass(L, DB_TNAME, db_methods, db_meta);
	pz_newclass(L, STMT_TNAME, stmt_methods, stmt_meta);
	pz_setfuncs(L, sqlite_functions, 0);
	lua_pushstring(L, sqlite3_libversion());
	lua_setfield(L, -2, "sqlite_version");
}
