/*
 * csv_import.c - the streaming CSV reader of bulk imports, writing typed
 * column files (colfile.h).
 *
 *   local n, skipped, shown = ecore.csv_import(csv_path, fields, { file = name, out = dir })
 *   -- or nil, failureReason
 *   local sum, rows = ecore.csv_column_sum(csv_path, k)  -- the benchmarks' floor
 *
 * csv_import follows import.parse of lua/personalize/engine/import.lua
 * rule for rule and message for message (its header comment has the
 * rules; spec/engine/columns_spec.lua checks both agree): a first pass
 * checks the file is UTF-8, a second reads it line by line in fixed-size
 * chunks (never the whole file), converts each row's values by the
 * schema field's Avro type and appends the rows that fit to columns in
 * memory. `fields` is schema.check's list ({ name =, type =, nullable =,
 * textual =, categorical = }). On success one file per field is written
 * into `out` (an existing directory) and the row count, the count of rows
 * left out and the first 10 of their messages come back.
 *
 * Memory is owned by userdata with __gc, so a raise never leaks it;
 * nothing is process-wide.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "colfile.h"
#include "engine.h"

#define IMPORT_TNAME "personalize.engine.csv_import"

#define CHUNK ((size_t)1 << 20)
#define MAX_SHOWN 10
#define MSG_SIZE 8192

/* Personalize's quotas, as import.lua has them. */
#define MAX_ID 256
#define MAX_STRING 1000
#define MAX_TEXTUAL 20000
#define MAX_EPOCH 1e11
#define TWO_63 9223372036854775808.0

enum { T_STRING, T_INT, T_LONG, T_FLOAT, T_DOUBLE, T_BOOLEAN };

/* ------------------------------------------------------------------ */
/* The importer: a file, its chunk, the current line, the columns.     */

typedef struct {
	int type, nullable, epoch, id, col;	/* col: header column, 0 when absent */
	size_t limit;
	const char *what;		/* "", "textual ", "categorical " */
} field;

/* A converted value of the current row. */
typedef struct {
	int present;
	int64_t i;
	double f;
	int is_float;
	size_t off, len;	/* strings: in the row buffer */
} cell;

typedef struct {
	int fd;
	char *chunk;
	size_t pos, len;
	int eof;
	buf line;		/* a line split over chunks */
	buf row;		/* the current row's values, unescaped */
	buf voff;		/* size_t pairs (offset, length) per value */
	column *cols;
	field *fields;
	cell *cells;
	int nfields;
	int *map;		/* header column -> field index, -1 */
	int width;
	char problem[MSG_SIZE];	/* what is wrong, without the file and line */
	char msg[2 * MSG_SIZE];	/* the failure reason */
} importer;

/* Frees what `im` holds; safe twice (csv_import's end, then __gc). */
static void importer_free(importer *im)
{
	if (im->fd >= 0)
		close(im->fd);
	im->fd = -1;
	free(im->chunk);
	im->chunk = NULL;
	buf_free(&im->line);
	buf_free(&im->row);
	buf_free(&im->voff);
	if (im->cols != NULL) {
		int i;

		for (i = 0; i < im->nfields; i++)
			column_free(&im->cols[i]);
	}
	free(im->cols);
	im->cols = NULL;
	free(im->fields);
	im->fields = NULL;
	free(im->cells);
	im->cells = NULL;
	free(im->map);
	im->map = NULL;
	im->nfields = 0;
}

static int importer_gc(lua_State *L)
{
	importer_free(luaL_checkudata(L, 1, IMPORT_TNAME));
	return 0;
}

/* Fills the chunk; 0 at the end of the file, -1 on a read error. */
static ssize_t fill(importer *im)
{
	ssize_t r;

	do
		r = read(im->fd, im->chunk, CHUNK);
	while (r < 0 && errno == EINTR);
	im->pos = 0;
	im->len = r > 0 ? (size_t)r : 0;
	if (r == 0)
		im->eof = 1;
	return r;
}

/*
 * The next line, without its LF: *p, *n and *nl (1 when a LF ended it).
 * Returns 1, 0 at the end of the file, -1 on an error (in im->msg).
 */
static int next_line(importer *im, const char **p, size_t *n, int *nl)
{
	im->line.len = 0;
	for (;;) {
		char *e;

		if (im->pos >= im->len) {
			if (im->eof || fill(im) <= 0) {
				if (!im->eof) {
					snprintf(im->problem, sizeof im->problem, "cannot read: %s", strerror(errno));
					return -1;
				}
				if (im->line.len == 0)
					return 0;
				*p = im->line.p;
				*n = im->line.len;
				*nl = 0;
				return 1;
			}
		}
		e = memchr(im->chunk + im->pos, '\n', im->len - im->pos);
		if (e != NULL) {
			size_t k = (size_t)(e - (im->chunk + im->pos));

			if (im->line.len == 0) {
				*p = im->chunk + im->pos;
				*n = k;
			} else {
				if (buf_add(&im->line, im->chunk + im->pos, k) != 0)
					goto oom;
				*p = im->line.p;
				*n = im->line.len;
			}
			im->pos += k + 1;
			*nl = 1;
			return 1;
		}
		if (buf_add(&im->line, im->chunk + im->pos, im->len - im->pos) != 0)
			goto oom;
		im->pos = im->len;
	}
oom:
	snprintf(im->problem, sizeof im->problem, "out of memory");
	return -1;
}

/* A raw value as import.lua's show() puts it in messages. */
static void show(char *out, size_t size, const char *s, size_t n)
{
	size_t o = 0, i;

	if (size < 16)
		return;
	out[o++] = '"';
	for (i = 0; i < n && i < 40 && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 32 || c == 127) {
			o += (size_t)snprintf(out + o, size - o, "\\%03d", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (n > 40 && o + 4 < size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static void add_value(importer *im, const char *s, size_t n, int *oom)
{
	size_t pair[2];

	pair[0] = im->row.len;
	pair[1] = n;
	if (buf_add(&im->row, s, n) != 0 || buf_add(&im->voff, pair, sizeof pair) != 0)
		*oom = 1;
}

#define NVALUES(im) ((im)->voff.len / (2 * sizeof(size_t)))

/*
 * read_record of import.lua on one line (p, n, nl): the values into
 * im->row / im->voff. Returns 0, or -1 with the problem in im->msg (no
 * prefix). A quoted value that reaches the line's end unclosed reads on
 * through the next lines to tell "never closed" from "holds a line break".
 */
static int read_record(importer *im, const char *p, size_t n, int nl)
{
	size_t i = 0;
	int col = 0, oom = 0;

	im->row.len = 0;
	im->voff.len = 0;
	for (;;) {
		col++;
		if (i < n && p[i] == '"') {
			size_t j = i + 1, start = im->row.len, q;
			size_t pair[2];
			const char *v;

			for (;;) {
				const char *e = j < n ? memchr(p + j, '"', n - j) : NULL;

				if (e == NULL) {
					/* Unclosed on this line: closed later, or never. */
					const char *lp;
					size_t ln;
					int lnl = nl;

					while (lnl) {
						size_t k = 0;
						int r = next_line(im, &lp, &ln, &lnl);

						if (r < 0)
							return -1;
						if (r == 0)
							break;
						while (k < ln) {
							const char *f = memchr(lp + k, '"', ln - k);

							if (f == NULL)
								break;
							k = (size_t)(f - lp);
							if (k + 1 < ln && lp[k + 1] == '"') {
								k += 2;
								continue;
							}
							snprintf(im->problem, sizeof im->problem, "the quoted value of column %d "
								 "holds a line break; each record must be on one line", col);
							return -1;
						}
					}
					snprintf(im->problem, sizeof im->problem,
						 "the quoted value of column %d is never closed", col);
					return -1;
				}
				q = (size_t)(e - p);
				if (buf_add(&im->row, p + j, q - j) != 0)
					oom = 1;
				if (q + 1 < n && p[q + 1] == '"') {
					if (buf_add(&im->row, "\"", 1) != 0)
						oom = 1;
					j = q + 2;
				} else {
					j = q + 1;
					break;
				}
			}
			if (oom)
				goto out_of_memory;
			v = im->row.p != NULL ? im->row.p + start : "";
			if (im->row.len > start && memchr(v, '\r', im->row.len - start) != NULL) {
				snprintf(im->problem, sizeof im->problem, "the quoted value of column %d holds a line "
					 "break; each record must be on one line", col);
				return -1;
			}
			pair[0] = start;
			pair[1] = im->row.len - start;
			if (buf_add(&im->voff, pair, sizeof pair) != 0)
				goto out_of_memory;
			if (j == n)
				return 0;	/* LF or the end of the file */
			if (p[j] == ',') {
				i = j + 1;
			} else if (p[j] == '\r' && j + 1 == n && nl) {
				return 0;
			} else {
				char s[32];

				show(s, sizeof s, p + j, 1);
				snprintf(im->problem, sizeof im->problem,
					 "unexpected %s after the closing quote of column %d", s, col);
				return -1;
			}
		} else {
			size_t e = i;

			while (e < n && p[e] != ',' && p[e] != '"')
				e++;
			if (e < n && p[e] == '"') {
				snprintf(im->problem, sizeof im->problem, "stray quote in column %d; quote the whole "
					 "value and double the quotes inside", col);
				return -1;
			}
			if (e < n) {
				add_value(im, p + i, e - i, &oom);
				i = e + 1;
			} else {
				size_t stop = n;

				if (nl && stop > i && p[stop - 1] == '\r')
					stop--;
				add_value(im, p + i, stop - i, &oom);
				if (oom)
					goto out_of_memory;
				return 0;
			}
			if (oom)
				goto out_of_memory;
		}
	}
out_of_memory:
	snprintf(im->problem, sizeof im->problem, "out of memory");
	return -1;
}

/* The fast path of import.lua: a line without quotes, split at commas. */
static int split_line(importer *im, const char *p, size_t n)
{
	size_t i = 0;
	int oom = 0;

	im->row.len = 0;
	im->voff.len = 0;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	for (;;) {
		const char *c = i < n ? memchr(p + i, ',', n - i) : NULL;

		if (c == NULL) {
			add_value(im, p + i, n - i, &oom);
			break;
		}
		add_value(im, p + i, (size_t)(c - p) - i, &oom);
		i = (size_t)(c - p) + 1;
	}
	if (oom) {
		snprintf(im->problem, sizeof im->problem, "out of memory");
		return -1;
	}
	return 0;
}

static const char *value_at(const importer *im, size_t j, size_t *n)
{
	const size_t *pair = (const size_t *)(const void *)im->voff.p + 2 * j;

	*n = pair[1];
	return im->row.p != NULL ? im->row.p + pair[0] : "";	/* NULL while every value was empty */
}

static size_t char_length(const char *s, size_t n)
{
	size_t i, k = n;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			k--;
	return k;
}

static int all_digits(const char *s, size_t n)
{
	size_t i = (n > 0 && s[0] == '-') ? 1 : 0;

	if (i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * What tonumber makes of a string of decimal digits as a float: the
 * magnitude `mag` when it did not overflow 64 bits (converting rounds
 * to nearest as strtod does), else strtod of the digits.
 */
static double digits_value(const char *s, size_t n, int overflow, uint64_t mag)
{
	char num[128];

	if (!overflow)
		return s[0] == '-' ? (double)(int64_t)(0 - mag) : (double)mag;
	if (n >= sizeof num)
		return s[0] == '-' ? -HUGE_VAL : HUGE_VAL;	/* past 10^127 */
	memcpy(num, s, n);
	num[n] = '\0';
	return strtod(num, NULL);
}

static const char *type_what(int type)
{
	switch (type) {
	case T_INT:
		return "an int";
	case T_LONG:
		return "a long";
	case T_FLOAT:
		return "a float";
	default:
		return "a double";
	}
}

/*
 * Converts value s (n > 0 bytes) of field f into *c like import.lua's
 * converters; returns 0, or -1 with the problem in `msg`.
 */
static int convert(const field *f, const char *name, const char *s, size_t n, cell *c,
		   char *msg, size_t msgsize)
{
	char shown[256], num[128];

	c->present = 1;
	c->is_float = 0;
	switch (f->type) {
	case T_STRING:
		if (n > f->limit) {
			size_t k = char_length(s, n);

			if (k > f->limit) {
				snprintf(msg, msgsize, "%s is %zu characters; the limit for %svalues is %zu",
					 name, k, f->what, f->limit);
				return -1;
			}
		}
		return 0;
	case T_INT:
	case T_LONG: {
		int is_int = f->type == T_INT, overflow = 0;
		double d;
		uint64_t mag = 0;
		size_t i;

		if (!all_digits(s, n)) {
			show(shown, sizeof shown, s, n);
			snprintf(msg, msgsize, "%s %s is not %s", name, shown, type_what(f->type));
			return -1;
		}
		for (i = (s[0] == '-') ? 1 : 0; i < n; i++) {
			unsigned dgt = (unsigned)(s[i] - '0');

			if (mag > (UINT64_MAX - dgt) / 10) {
				overflow = 1;
				break;
			}
			mag = mag * 10 + dgt;
		}
		if (s[0] == '-' ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
			overflow = 1;
#if LUA_VERSION_NUM >= 503
		if (!overflow) {
			/* tonumber gives an integer: exact comparisons */
			int64_t v = s[0] == '-' ? (int64_t)(0 - mag) : (int64_t)mag;

			if (is_int && (v > INT32_MAX || v < INT32_MIN)) {
				snprintf(msg, msgsize, "%s %.*s is out of range for %s", name, (int)n, s,
					 type_what(f->type));
				return -1;
			}
			if (f->epoch && v < 0) {
				snprintf(msg, msgsize, "%s %.*s is negative; use Unix epoch seconds", name, (int)n, s);
				return -1;
			}
			if (f->epoch && (double)v >= MAX_EPOCH) {
				snprintf(msg, msgsize, "%s %.*s looks like milliseconds; use Unix epoch seconds",
					 name, (int)n, s);
				return -1;
			}
			c->i = v;
			return 0;
		}
#endif
		/* tonumber gives a float (LuaJIT always; Lua 5.4 past 64 bits) */
		d = digits_value(s, n, overflow, mag);
		if (d >= TWO_63 || d < -TWO_63 || (is_int && (d > INT32_MAX || d < INT32_MIN))) {
			snprintf(msg, msgsize, "%s %.*s is out of range for %s", name, (int)n, s, type_what(f->type));
			return -1;
		}
		if (f->epoch && d < 0) {
			snprintf(msg, msgsize, "%s %.*s is negative; use Unix epoch seconds", name, (int)n, s);
			return -1;
		}
		if (f->epoch && d >= MAX_EPOCH) {
			snprintf(msg, msgsize, "%s %.*s looks like milliseconds; use Unix epoch seconds",
				 name, (int)n, s);
			return -1;
		}
		c->i = (int64_t)d;
		return 0;
	}
	case T_FLOAT:
	case T_DOUBLE: {
		char *end;
		size_t i;
		int ok = n < sizeof num;

		for (i = 0; ok && i < n; i++) {
			char ch = s[i];

			if (ch == 'x' || ch == 'X' || ch == 'p' || ch == 'P' || ch == 'n' || ch == 'N' ||
			    ch == ' ' || (ch >= '\t' && ch <= '\r') || ch == '\0')
				ok = 0;
		}
		if (ok) {
			memcpy(num, s, n);
			num[n] = '\0';
			c->f = strtod(num, &end);
			ok = end == num + n && isfinite(c->f);
		} else if (n >= sizeof num) {
			/* long: digits, one dot, an exponent; strtod on the heap */
			char *copy = malloc(n + 1);

			ok = copy != NULL;
			for (i = 0; ok && i < n; i++) {
				char ch = s[i];

				ok = (ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' ||
				     ch == '-' || ch == '+';
			}
			if (ok) {
				memcpy(copy, s, n);
				copy[n] = '\0';
				c->f = strtod(copy, &end);
				ok = end == copy + n && isfinite(c->f);
			}
			free(copy);
		}
		if (!ok) {
			show(shown, sizeof shown, s, n);
			snprintf(msg, msgsize, "%s %s is not %s", name, shown, type_what(f->type));
			return -1;
		}
		c->is_float = 1;
		return 0;
	}
	default: {
		if (n == 4 && strncasecmp(s, "true", 4) == 0) {
			c->i = 1;
			return 0;
		}
		if (n == 5 && strncasecmp(s, "false", 5) == 0) {
			c->i = 0;
			return 0;
		}
		show(shown, sizeof shown, s, n);
		snprintf(msg, msgsize, "%s %s is not a boolean (true or false)", name, shown);
		return -1;
	}
	}
}

/* Appends the converted row (cells; strings in im->row) to the columns. */
static int commit_row(importer *im)
{
	int k;

	for (k = 0; k < im->nfields; k++) {
		column *c = &im->cols[k];
		const cell *v = &im->cells[k];
		int fail = 0;

		switch (c->kind) {
		case K_STRING: {
			int32_t code = -1;

			if (v->present) {
				int64_t r = dict_intern(&c->d, im->row.p + v->off, v->len);

				if (r < 0)
					return -1;
				code = (int32_t)r;
			}
			fail = buf_add(&c->data, &code, sizeof code);
			break;
		}
		case K_BOOL: {
			unsigned char b = v->present ? (unsigned char)v->i : 2;

			fail = buf_add(&c->data, &b, 1);
			break;
		}
		case K_INT64: {
			int64_t x = v->present ? v->i : 0;

			fail = buf_add(&c->data, &x, sizeof x);
			break;
		}
		default: {
			double x = v->present ? v->f : 0;

			fail = buf_add(&c->data, &x, sizeof x);
			break;
		}
		}
		if (!fail && (c->flags & F_VALID)) {
			unsigned char b = v->present ? 1 : 0;

			fail = buf_add(&c->valid, &b, 1);
		}
		if (fail)
			return -1;
		c->n++;
	}
	return 0;
}

static const char *opt_string(lua_State *L, int t, const char *key)
{
	const char *s;

	lua_getfield(L, t, key);
	s = lua_tostring(L, -1);
	lua_pop(L, 1);		/* the table still holds the string */
	return s;
}

static int opt_bool(lua_State *L, int t, const char *key)
{
	int b;

	lua_getfield(L, t, key);
	b = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return b;
}


/* Reads schema.check's fields (argument 2) into im. */
static void load_fields(lua_State *L, importer *im)
{
	int n = (int)pz_rawlen(L, 2), k;

	im->fields = calloc((size_t)n + 1, sizeof *im->fields);
	im->cols = calloc((size_t)n + 1, sizeof *im->cols);
	im->cells = calloc((size_t)n + 1, sizeof *im->cells);
	if (im->fields == NULL || im->cols == NULL || im->cells == NULL)
		luaL_error(L, "out of memory");
	im->nfields = n;
	for (k = 0; k < n; k++) {
		field *f = &im->fields[k];
		column *c = &im->cols[k];
		const char *name, *type;

		lua_rawgeti(L, 2, k + 1);
		if (!lua_istable(L, -1))
			luaL_error(L, "csv_import: fields must be a list from schema.check");
		name = opt_string(L, -1, "name");
		type = opt_string(L, -1, "type");
		if (!col_is_name(name))
			luaL_error(L, "csv_import: field %d has no usable name", k + 1);
		if (type == NULL)
			luaL_error(L, "field %s has unknown type nil", name);
		strcpy(c->name, name);
		f->nullable = opt_bool(L, -1, "nullable");
		f->id = strcmp(name, "USER_ID") == 0 || strcmp(name, "ITEM_ID") == 0 ||
			strcmp(name, "ACTION_ID") == 0;
		f->epoch = strcmp(name, "TIMESTAMP") == 0 || strcmp(name, "CREATION_TIMESTAMP") == 0;
		if (strcmp(type, "string") == 0) {
			int textual = opt_bool(L, -1, "textual");

			f->type = T_STRING;
			c->kind = K_STRING;
			f->limit = f->id ? MAX_ID : textual ? MAX_TEXTUAL : MAX_STRING;
			f->what = f->id ? "" : textual ? "textual " :
				  opt_bool(L, -1, "categorical") ? "categorical " : "";
		} else if (strcmp(type, "int") == 0 || strcmp(type, "long") == 0) {
			f->type = type[0] == 'i' ? T_INT : T_LONG;
			c->kind = K_INT64;
		} else if (strcmp(type, "float") == 0 || strcmp(type, "double") == 0) {
			f->type = type[0] == 'f' ? T_FLOAT : T_DOUBLE;
			c->kind = K_FLOAT64;
		} else if (strcmp(type, "boolean") == 0) {
			f->type = T_BOOLEAN;
			c->kind = K_BOOL;
		} else {
			luaL_error(L, "field %s has unknown type %s", name, type);
		}
		if (f->nullable && (c->kind == K_INT64 || c->kind == K_FLOAT64))
			c->flags |= F_VALID;
		lua_pop(L, 1);
	}
}

/* Pass 1: the first byte that is not UTF-8 (RFC 3629), as import.lua's bad_utf8. */
static int check_utf8(importer *im, const char *prefix)
{
	long line = 1, lead_line = 1;
	int need = 0, first = 0;
	unsigned char lead = 0;

	for (;;) {
		size_t i;
		ssize_t r = fill(im);

		if (r < 0) {
			snprintf(im->msg, sizeof im->msg, "%scannot read: %s", prefix, strerror(errno));
			return -1;
		}
		if (r == 0)
			break;
		for (i = 0; i < im->len; i++) {
			unsigned char b = (unsigned char)im->chunk[i];

			if (need == 0) {
				if (b < 0x80) {
					if (b == '\n')
						line++;
					continue;
				}
				lead = b;
				lead_line = line;
				first = 1;
				if (b >= 0xC2 && b <= 0xDF)
					need = 1;
				else if (b >= 0xE0 && b <= 0xEF)
					need = 2;
				else if (b >= 0xF0 && b <= 0xF4)
					need = 3;
				else
					goto bad;
			} else {
				if (b < 0x80 || b > 0xBF)
					goto bad;
				if (first && ((lead == 0xE0 && b < 0xA0) || (lead == 0xED && b > 0x9F) ||
					      (lead == 0xF0 && b < 0x90) || (lead == 0xF4 && b > 0x8F)))
					goto bad;
				first = 0;
				need--;
			}
		}
	}
	if (need == 0)
		return 0;
bad:
	snprintf(im->msg, sizeof im->msg, "%sline %ld: byte 0x%02X is not UTF-8; Personalize reads CSV "
		 "files as UTF-8 (save the file as UTF-8, not Latin-1 or another encoding)",
		 prefix, lead_line, lead);
	return -1;
}

static int upper_equal(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (y == '\0')
			return 0;
		if (x >= 'a' && x <= 'z')
			x = (unsigned char)(x - 32);
		if (y >= 'a' && y <= 'z')
			y = (unsigned char)(y - 32);
		if (x != y)
			return 0;
	}
	return b[n] == '\0';
}

/* Reads the header; returns 0 or -1 with the failure in im->msg. */
static int read_header(importer *im, const char *prefix, long *line)
{
	const char *p;
	size_t n, j;
	int nl, k;

	for (;;) {
		int r = next_line(im, &p, &n, &nl);

		if (r < 0) {
			snprintf(im->msg, sizeof im->msg, "%s%s", prefix, im->problem);
			return -1;
		}
		if (r == 0) {
			snprintf(im->msg, sizeof im->msg,
				 "%sheader: the file is empty; the first line must name the columns", prefix);
			return -1;
		}
		if (!(nl && (n == 0 || (n == 1 && p[0] == '\r'))))
			break;
		(*line)++;
	}
	if (read_record(im, p, n, nl) != 0) {
		snprintf(im->msg, sizeof im->msg, "%sheader: %s", prefix, im->problem);
		return -1;
	}
	if (memchr(p, '"', n) != NULL) {
		snprintf(im->msg, sizeof im->msg,
			 "%sheader: column names must not be enclosed in quotation marks", prefix);
		return -1;
	}
	if (nl)
		(*line)++;
	for (k = 0; k < im->nfields; k++) {
		if (strcmp(im->cols[k].name, "n") == 0) {
			snprintf(im->msg, sizeof im->msg, "%sheader: a schema field named \"n\" is not supported", prefix);
			return -1;
		}
	}
	im->width = (int)NVALUES(im);
	im->map = malloc(sizeof *im->map * (size_t)im->width);
	if (im->map == NULL) {
		snprintf(im->msg, sizeof im->msg, "%sout of memory", prefix);
		return -1;
	}
	for (j = 0; j < (size_t)im->width; j++) {
		size_t len;
		const char *name = value_at(im, j, &len);

		im->map[j] = -1;
		for (k = im->nfields - 1; k >= 0; k--) {
			if (upper_equal(name, len, im->cols[k].name))
				break;
		}
		if (k >= 0) {
			/* the last field of that name in upper case wins, as by_upper does */
			if (im->fields[k].col != 0) {
				snprintf(im->msg, sizeof im->msg, "%sheader: column %s appears twice (columns %d and %d)",
					 prefix, im->cols[k].name, im->fields[k].col, (int)j + 1);
				return -1;
			}
			im->fields[k].col = (int)j + 1;
			im->map[j] = k;
		}
	}
	for (k = 0; k < im->nfields; k++) {
		if (im->fields[k].col == 0 && !im->fields[k].nullable) {
			snprintf(im->msg, sizeof im->msg, "%sheader: required field %s is missing",
				 prefix, im->cols[k].name);
			return -1;
		}
	}
	return 0;
}

/* csv_import(path, fields, opts) -> n, skipped, { messages } | nil, reason */
static int csv_import(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *file, *out;
	char prefix[2048], problem[MSG_SIZE];
	importer *im;
	long line = 1, skipped = 0;
	size_t rows = 0;
	int k, shown_table, have_first = 0;

	luaL_checktype(L, 2, LUA_TTABLE);
	luaL_checktype(L, 3, LUA_TTABLE);
	file = opt_string(L, 3, "file");
	out = opt_string(L, 3, "out");
	if (out == NULL)
		return luaL_argerror(L, 3, "opts.out (a directory) is required");
	if (file != NULL)
		snprintf(prefix, sizeof prefix, "%s ", file);
	else
		prefix[0] = '\0';

	im = lua_newuserdata(L, sizeof *im);
	memset(im, 0, sizeof *im);
	im->fd = -1;
	luaL_getmetatable(L, IMPORT_TNAME);
	lua_setmetatable(L, -2);
	load_fields(L, im);
	lua_newtable(L);
	shown_table = lua_gettop(L);
	/* the first problem's text lives in a Lua string (index shown_table + 1) */
	lua_pushnil(L);

	im->chunk = malloc(CHUNK);
	if (im->chunk == NULL)
		return luaL_error(L, "out of memory");
	im->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (im->fd < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "%scannot open %s: %s", prefix, path, strerror(errno));
		return 2;
	}
	if (check_utf8(im, prefix) != 0)
		goto failed;
	if (lseek(im->fd, 0, SEEK_SET) != 0) {
		snprintf(im->msg, sizeof im->msg, "%scannot read: %s", prefix, strerror(errno));
		goto failed;
	}
	im->eof = 0;
	if (fill(im) < 0) {
		snprintf(im->msg, sizeof im->msg, "%scannot read: %s", prefix, strerror(errno));
		goto failed;
	}
	if (im->len >= 3 && memcmp(im->chunk, "\357\273\277", 3) == 0)
		im->pos = 3;	/* a UTF-8 BOM opens the file */
	if (read_header(im, prefix, &line) != 0)
		goto failed;

	for (;;) {
		const char *p;
		size_t n, nvalues;
		int nl, r, bad = 0;

		r = next_line(im, &p, &n, &nl);
		if (r < 0) {
			snprintf(im->msg, sizeof im->msg, "%s%s", prefix, im->problem);
			goto failed;
		}
		if (r == 0)
			break;
		if (n == 0 || (n == 1 && p[0] == '\r')) {
			line++;
			continue;
		}
		if (memchr(p, '"', n) != NULL)
			r = read_record(im, p, n, nl);
		else
			r = split_line(im, p, n);
		if (r != 0) {
			snprintf(im->msg, sizeof im->msg, "%sline %ld: %s", prefix, line, im->problem);
			goto failed;
		}
		nvalues = NVALUES(im);
		if (nvalues != (size_t)im->width) {
			snprintf(problem, sizeof problem, "%zu value%s but the header has %d column%s", nvalues,
				 nvalues == 1 ? "" : "s", im->width, im->width == 1 ? "" : "s");
			bad = 1;
		} else {
			for (k = 0; k < im->nfields; k++)
				im->cells[k].present = 0;
			for (k = 0; k < im->width && !bad; k++) {
				int fi = im->map[k];
				size_t len;
				const char *s;
				cell *c;

				if (fi < 0)
					continue;
				s = value_at(im, (size_t)k, &len);
				c = &im->cells[fi];
				if (len == 0) {
					if (!im->fields[fi].nullable) {
						if (im->fields[fi].id)
							snprintf(problem, sizeof problem, "%s is empty; IDs need 1 to %d "
								 "characters", im->cols[fi].name, MAX_ID);
						else
							snprintf(problem, sizeof problem, "%s is empty but the field is not "
								 "nullable", im->cols[fi].name);
						bad = 1;
					}
					continue;
				}
				if (convert(&im->fields[fi], im->cols[fi].name, s, len, c, problem, sizeof problem) != 0) {
					bad = 1;
					continue;
				}
				if (im->fields[fi].type == T_STRING) {
					const size_t *pair = (const size_t *)(const void *)im->voff.p + 2 * (size_t)k;

					c->off = pair[0];
					c->len = pair[1];
				}
			}
		}
		if (bad) {
			skipped++;
			if (skipped <= MAX_SHOWN) {
				lua_pushfstring(L, "%sline %d: %s", prefix, (int)line, problem);
				if (!have_first) {
					lua_pushvalue(L, -1);
					lua_replace(L, shown_table + 1);
					have_first = 1;
				}
				lua_rawseti(L, shown_table, (int)skipped);
			}
		} else {
			if (commit_row(im) != 0)
				return luaL_error(L, "out of memory");
			rows++;
		}
		line++;
	}
	if (rows == 0 && have_first) {
		importer_free(im);
		lua_pushnil(L);
		lua_pushvalue(L, shown_table + 1);
		return 2;
	}
	for (k = 0; k < im->nfields; k++) {
		if (column_write(out, &im->cols[k], im->msg, sizeof im->msg) != 0)
			goto failed;
	}
	if (sync_dir(out, im->msg, sizeof im->msg) != 0)
		goto failed;
	importer_free(im);	/* the columns are on disk: no need to wait for the GC */
	lua_pushinteger(L, (lua_Integer)rows);
	lua_pushinteger(L, (lua_Integer)skipped);
	lua_pushvalue(L, shown_table);
	return 3;
failed:
	lua_pushnil(L);
	lua_pushstring(L, im->msg);
	importer_free(im);
	return 2;
}

/*
 * csv_column_sum(path, k) -> sum, rows | nil, message: the sum of column
 * k's integers (1-based, no quoting) over the lines after the header, in
 * one pass of CHUNK reads: the benchmarks' floor for reading a CSV file.
 */
typedef struct {
	int fd;
	char *chunk;
} scan;

static int scan_gc(lua_State *L)
{
	scan *sc = luaL_checkudata(L, 1, IMPORT_TNAME "_scan");

	if (sc->fd >= 0)
		close(sc->fd);
	sc->fd = -1;
	free(sc->chunk);
	sc->chunk = NULL;
	return 0;
}

static int csv_column_sum(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_Integer want = luaL_checkinteger(L, 2);
	scan *sc = lua_newuserdata(L, sizeof *sc);
	long long sum = 0, value = 0, rows = 0;
	lua_Integer col = 1;
	int header = 1, neg = 0;
	ssize_t r;

	sc->fd = -1;
	sc->chunk = NULL;
	luaL_getmetatable(L, IMPORT_TNAME "_scan");
	lua_setmetatable(L, -2);
	sc->chunk = malloc(CHUNK);
	if (sc->chunk == NULL)
		return luaL_error(L, "out of memory");
	sc->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sc->fd < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno));
		return 2;
	}
	while ((r = read(sc->fd, sc->chunk, CHUNK)) > 0) {
		ssize_t i;

		for (i = 0; i < r; i++) {
			char c = sc->chunk[i];

			if (c == '\n') {
				if (!header) {
					sum += neg ? -value : value;
					rows++;
				}
				header = 0;
				col = 1;
				value = 0;
				neg = 0;
			} else if (c == ',') {
				col++;
			} else if (col == want && !header) {
				if (c >= '0' && c <= '9')
					value = value * 10 + (c - '0');
				else if (c == '-')
					neg = 1;
			}
		}
	}
	if (r < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "cannot read %s: %s", path, strerror(errno));
		return 2;
	}
	lua_pushnumber(L, (lua_Number)sum);
	lua_pushinteger(L, (lua_Integer)rows);
	return 2;
}

static const luaL_Reg scan_meta[] = {
	{ "__gc", scan_gc },
	{ NULL, NULL }
};

static const luaL_Reg import_meta[] = {
	{ "__gc", importer_gc },
	{ NULL, NULL }
};

static const luaL_Reg no_methods[] = {
	{ NULL, NULL }
};

static const luaL_Reg csv_functions[] = {
	{ "csv_import", csv_import },
	{ "csv_column_sum", csv_column_sum },
	{ NULL, NULL }
};

void pz_open_csv(lua_State *L)
{
	pz_newclass(L, IMPORT_TNAME, no_methods, import_meta);
	pz_newclass(L, IMPORT_TNAME "_scan", no_methods, scan_meta);
	pz_setfuncs(L, csv_functions, 0);
}
