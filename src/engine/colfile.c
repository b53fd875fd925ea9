/*
 * colfile.c - the column files' writer and mapped reader (see colfile.h
 * for the format).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "colfile.h"

int buf_reserve(buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= more)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (p == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int buf_add(buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void buf_free(buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}


uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

const char *dict_at(const dict *d, size_t code, size_t *n)
{
	const uint64_t *o = (const uint64_t *)(const void *)d->offs.p;

	*n = (size_t)(o[code + 1] - o[code]);
	return d->bytes.p != NULL ? d->bytes.p + o[code] : "";	/* only empty strings so far */
}

static int dict_grow(dict *d)
{
	size_t n = d->nslots ? d->nslots * 2 : 1024, i;
	uint32_t *slots = calloc(n, sizeof *slots);

	if (slots == NULL)
		return -1;
	for (i = 0; i < d->count; i++) {
		size_t len;
		const char *s = dict_at(d, i, &len);
		size_t h = (size_t)hash_bytes(s, len) & (n - 1);

		while (slots[h] != 0)
			h = (h + 1) & (n - 1);
		slots[h] = (uint32_t)(i + 1);
	}
	free(d->slots);
	d->slots = slots;
	d->nslots = n;
	return 0;
}

/* The code of `s`, added when new; -1 when out of memory. */
int64_t dict_intern(dict *d, const char *s, size_t n)
{
	size_t h;
	uint64_t end;

	if (d->offs.len == 0) {
		uint64_t zero = 0;

		if (buf_add(&d->offs, &zero, sizeof zero) != 0)
			return -1;
	}
	if ((d->count + 1) * 2 > d->nslots && dict_grow(d) != 0)
		return -1;
	h = (size_t)hash_bytes(s, n) & (d->nslots - 1);
	while (d->slots[h] != 0) {
		size_t len, code = d->slots[h] - 1;
		const char *t = dict_at(d, code, &len);

		if (len == n && memcmp(s, t, n) == 0)
			return (int64_t)code;
		h = (h + 1) & (d->nslots - 1);
	}
	if (d->count >= INT32_MAX || buf_add(&d->bytes, s, n) != 0)
		return -1;
	end = d->bytes.len;
	if (buf_add(&d->offs, &end, sizeof end) != 0)
		return -1;
	d->slots[h] = (uint32_t)(d->count + 1);
	return (int64_t)d->count++;
}

void dict_free(dict *d)
{
	buf_free(&d->bytes);
	buf_free(&d->offs);
	free(d->slots);
	d->slots = NULL;
	d->nslots = d->count = 0;
}


void column_free(column *c)
{
	buf_free(&c->data);
	buf_free(&c->valid);
	buf_free(&c->tags);
	dict_free(&c->d);
}

size_t elem_size(int kind)
{
	switch (kind) {
	case K_STRING:
		return 4;
	case K_BOOL:
		return 1;
	default:
		return 8;
	}
}

/*
 * Writes `c` as dir/<name>.col: a temporary file, fsync'd, renamed.
 * Returns 0, or -1 with a message in err.
 */
int write_all(int fd, const char *p, size_t n)
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

int column_write(const char *dir, const column *c, char *err, size_t errsize)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	unsigned char head[COL_HEADER_SIZE];
	uint32_t kind = (uint32_t)c->kind, flags = c->flags;
	uint64_t n = c->n, dcount = c->d.count, dbytes = c->d.bytes.len;
	int fd, ok;

	if (snprintf(path, sizeof path, "%s/%s.col", dir, c->name) >= (int)sizeof path) {
		snprintf(err, errsize, "%s/%s.col: the path is too long", dir, c->name);
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsize, "cannot create a temporary file for %s: %s", path, strerror(errno));
		return -1;
	}
	memset(head, 0, sizeof head);
	memcpy(head, COL_MAGIC, 8);
	memcpy(head + 8, &kind, 4);
	memcpy(head + 12, &flags, 4);
	memcpy(head + 16, &n, 8);
	memcpy(head + 24, &dcount, 8);
	memcpy(head + 32, &dbytes, 8);
	ok = fchmod(fd, 0644) == 0 && write_all(fd, (const char *)head, sizeof head) == 0;
	if (ok && c->kind == K_MIXED)
		ok = write_all(fd, c->tags.p, c->n) == 0;
	if (ok)
		ok = write_all(fd, c->data.p, c->n * elem_size(c->kind)) == 0;
	if (ok && (c->flags & F_VALID))
		ok = write_all(fd, c->valid.p, c->n) == 0;
	if (ok && (c->kind == K_STRING || c->kind == K_MIXED)) {
		uint64_t zero = 0;

		if (c->d.offs.len == 0)
			ok = write_all(fd, (const char *)&zero, sizeof zero) == 0;
		else
			ok = write_all(fd, c->d.offs.p, c->d.offs.len) == 0;
		ok = ok && write_all(fd, c->d.bytes.p, c->d.bytes.len) == 0;
	}
	ok = ok && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int sync_dir(const char *dir, char *err, size_t errsize)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0) {
		snprintf(err, errsize, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	rc = fsync(fd);
	close(fd);
	if (rc != 0) {
		snprintf(err, errsize, "cannot sync %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Mapped views.                                                       */

static uint64_t off_at(const unsigned char *offs, uint64_t i)
{
	uint64_t v;

	memcpy(&v, offs + 8 * i, sizeof v);
	return v;
}

void colview_close(colview *v)
{
	if (v->map != NULL)
		munmap(v->map, v->size);
	memset(v, 0, sizeof *v);
}

int colview_open(colview *v, const char *path, char *err, size_t errsize)
{
	int fd;
	struct stat st;
	uint32_t kind, flags;
	uint64_t n, dcount, dbytes, need;
	const unsigned char *p;
	size_t esize;

	memset(v, 0, sizeof *v);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errsize, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	v->size = (size_t)st.st_size;
	if (v->size >= COL_HEADER_SIZE) {
		void *m = mmap(NULL, v->size, PROT_READ, MAP_PRIVATE, fd, 0);

		v->map = m == MAP_FAILED ? NULL : m;
	}
	if (v->map == NULL) {
		snprintf(err, errsize, "cannot map %s: %s", path,
			 v->size < COL_HEADER_SIZE ? "truncated" : strerror(errno));
		close(fd);
		v->size = 0;
		return -1;
	}
	close(fd);
	p = v->map;
	memcpy(&kind, p + 8, 4);
	memcpy(&flags, p + 12, 4);
	memcpy(&n, p + 16, 8);
	memcpy(&dcount, p + 24, 8);
	memcpy(&dbytes, p + 32, 8);
	esize = elem_size((int)kind);
	need = COL_HEADER_SIZE + (kind == K_MIXED ? n : 0) + n * esize + ((flags & F_VALID) ? n : 0);
	if (memcmp(p, COL_MAGIC, 8) != 0 || kind < K_INT64 || kind > K_MIXED || n > INT_MAX ||
	    dcount > INT32_MAX || dbytes > v->size || need > v->size ||
	    (kind != K_STRING && kind != K_MIXED && dcount + dbytes != 0) ||
	    ((kind == K_STRING || kind == K_MIXED) && need + (dcount + 1) * 8 + dbytes != v->size)) {
		snprintf(err, errsize, "%s is not a column file of this engine", path);
		colview_close(v);
		return -1;
	}
	v->kind = (int)kind;
	v->flags = flags;
	v->n = n;
	v->dcount = dcount;
	v->data = p + COL_HEADER_SIZE;
	if (kind == K_MIXED) {
		v->tags = v->data;
		v->data += n;
	}
	if (flags & F_VALID)
		v->valid = v->data + n * esize;
	if (kind == K_STRING || kind == K_MIXED) {
		v->offs = p + need;
		v->bytes = (const char *)(p + need + (dcount + 1) * 8);
		for (uint64_t i = 0; i < dcount; i++)
			if (off_at(v->offs, i) > off_at(v->offs, i + 1) || off_at(v->offs, i + 1) > dbytes) {
				snprintf(err, errsize, "%s: a damaged dictionary", path);
				colview_close(v);
				return -1;
			}
	}
	return 0;
}

const char *colview_dict(const colview *v, uint64_t code, size_t *len)
{
	uint64_t a = off_at(v->offs, code);

	*len = (size_t)(off_at(v->offs, code + 1) - a);
	return v->bytes + a;
}

/* The number a Lua float prints as with "%.14g" (tostring's format). */
static size_t float_text(double x, char *scratch)
{
	int k = snprintf(scratch, 32, "%.14g", x);

	if (k > 0 && k < 30 && strspn(scratch, "-0123456789") == (size_t)k) {
		scratch[k++] = '.';
		scratch[k++] = '0';
		scratch[k] = 0;
	}
	return k > 0 ? (size_t)k : 0;
}

const char *colview_text(const colview *v, uint64_t i, size_t *len, char *scratch)
{
	int64_t x = 0;
	int32_t code;
	double d;

	switch (v->kind) {
	case K_STRING:
		memcpy(&code, v->data + 4 * i, 4);
		if (code < 0 || (uint64_t)code >= v->dcount)
			return NULL;
		return colview_dict(v, (uint64_t)code, len);
	case K_INT64:
		if (v->valid && !v->valid[i])
			return NULL;
		memcpy(&x, v->data + 8 * i, 8);
		*len = (size_t)snprintf(scratch, 32, "%" PRId64, x);
		return scratch;
	case K_FLOAT64:
		if (v->valid && !v->valid[i])
			return NULL;
		memcpy(&d, v->data + 8 * i, 8);
		*len = float_text(d, scratch);
		return scratch;
	case K_BOOL:
		if (v->data[i] > 1)
			return NULL;
		*len = strlen(strcpy(scratch, v->data[i] ? "true" : "false"));
		return scratch;
	case K_MIXED:
		memcpy(&x, v->data + 8 * i, 8);
		switch (v->tags[i]) {
		case TAG_INT:
			*len = (size_t)snprintf(scratch, 32, "%" PRId64, x);
			return scratch;
		case TAG_FLOAT:
			memcpy(&d, v->data + 8 * i, sizeof d);
			*len = float_text(d, scratch);
			return scratch;
		case TAG_STRING:
			if (x < 0 || (uint64_t)x >= v->dcount)
				return NULL;
			return colview_dict(v, (uint64_t)x, len);
		case TAG_FALSE:
		case TAG_TRUE:
			*len = strlen(strcpy(scratch, v->tags[i] == TAG_TRUE ? "true" : "false"));
			return scratch;
		default:
			return NULL;
		}
	default:
		return NULL;
	}
}

/* A whole string that strtod reads as a finite number (Lua's tonumber, near enough). */
static int text_number(const char *s, size_t len, double *x)
{
	char tmp[64], *end;

	if (len == 0 || len >= sizeof tmp)
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	*x = strtod(tmp, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	return end != tmp && *end == 0 && *x == *x && *x - *x == 0;
}

int colview_number(const colview *v, uint64_t i, double *x)
{
	int64_t k = 0;
	int32_t code;
	size_t len;
	const char *s;

	switch (v->kind) {
	case K_INT64:
		if (v->valid && !v->valid[i])
			return 0;
		memcpy(&k, v->data + 8 * i, 8);
		*x = (double)k;
		return 1;
	case K_FLOAT64:
		if (v->valid && !v->valid[i])
			return 0;
		memcpy(x, v->data + 8 * i, 8);
		return 1;
	case K_STRING:
		memcpy(&code, v->data + 4 * i, 4);
		if (code < 0 || (uint64_t)code >= v->dcount)
			return 0;
		s = colview_dict(v, (uint64_t)code, &len);
		return text_number(s, len, x);
	case K_MIXED:
		memcpy(&k, v->data + 8 * i, 8);
		if (v->tags[i] == TAG_INT) {
			*x = (double)k;
			return 1;
		}
		if (v->tags[i] == TAG_FLOAT) {
			memcpy(x, v->data + 8 * i, sizeof *x);
			return 1;
		}
		if (v->tags[i] == TAG_STRING && k >= 0 && (uint64_t)k < v->dcount) {
			s = colview_dict(v, (uint64_t)k, &len);
			return text_number(s, len, x);
		}
		return 0;
	default:
		return 0;
	}
}

int col_is_name(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 200)
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
		      (i > 0 && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}
