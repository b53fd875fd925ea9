/*
 * colfile.h - the column files of imported rows: their format, the
 * builders that write them and the mapped views that read them.
 *
 * A column file <FIELD>.col holds a header (magic, kind, flags, n, the
 * dictionary's size) then the values: int64 or float64 arrays (with a
 * byte per row telling present from empty when F_VALID is set), a byte
 * per row for booleans (2 for empty), int32 codes into a dictionary of
 * distinct strings (-1 for empty; each string stored once), or, for
 * columns written from Lua tables that mix types, a tag byte and an
 * 8-byte slot per row. The dictionary follows the values: count + 1
 * uint64 offsets, then the bytes.
 *
 * Writers (buf, dict, column) own malloc'd memory freed by their _free;
 * column_write writes "<name>.tmp.XXXXXX" (mkostemp), fsyncs and renames.
 * A colview maps a file read-only after checking every size in its
 * header, so a damaged file is refused instead of read past its end.
 * Nothing here keeps process-wide state.
 */
#ifndef PERSONALIZE_COLFILE_H
#define PERSONALIZE_COLFILE_H

#include <stddef.h>
#include <stdint.h>

#define COL_MAGIC "PZCOL001"
#define COL_HEADER_SIZE 48

enum { K_INT64 = 1, K_FLOAT64, K_BOOL, K_STRING, K_MIXED };
enum { TAG_NIL, TAG_INT, TAG_FLOAT, TAG_STRING, TAG_FALSE, TAG_TRUE };
#define F_VALID 1u

/* A growing byte buffer. */
typedef struct {
	char *p;
	size_t len, cap;
} buf;

int buf_reserve(buf *b, size_t more);
int buf_add(buf *b, const void *p, size_t n);
void buf_free(buf *b);

/* Distinct strings, each with a code 0..count-1 (open addressing). */
typedef struct {
	buf bytes;		/* the strings, one after the other */
	buf offs;		/* uint64 offsets: count + 1 */
	uint32_t *slots;	/* code + 1, 0 when free */
	size_t nslots, count;
} dict;

uint64_t hash_bytes(const char *s, size_t n);
const char *dict_at(const dict *d, size_t code, size_t *n);
/* The code of `s`, added when new; -1 when out of memory. */
int64_t dict_intern(dict *d, const char *s, size_t n);
void dict_free(dict *d);

/* One column being built: the values of rows 0..n-1. */
typedef struct {
	char name[256];
	int kind;
	unsigned flags;
	size_t n;
	buf data;		/* int64 / double / int32 codes / uint8 bools / mixed slots */
	buf valid;		/* F_VALID: a byte per row, 1 when present */
	buf tags;		/* K_MIXED: a tag byte per row */
	dict d;
} column;

void column_free(column *c);
size_t elem_size(int kind);
int write_all(int fd, const char *p, size_t n);
/* Writes `c` as dir/<name>.col; 0, or -1 with a message in err. */
int column_write(const char *dir, const column *c, char *err, size_t errsize);
/* fsyncs a directory; 0, or -1 with a message in err. */
int sync_dir(const char *dir, char *err, size_t errsize);

/* A field name that can name a column file: [A-Za-z_][A-Za-z0-9_]*, at most 200 bytes. */
int col_is_name(const char *s);

/* A column file mapped read-only. */
typedef struct {
	void *map;
	size_t size;
	int kind;
	unsigned flags;
	uint64_t n, dcount;
	const unsigned char *data;	/* the values */
	const unsigned char *valid;	/* F_VALID bytes, or NULL */
	const unsigned char *tags;	/* K_MIXED tags, or NULL */
	const unsigned char *offs;	/* dictionary offsets (uint64, maybe unaligned) */
	const char *bytes;		/* dictionary bytes */
} colview;

/* Maps `path`; 0, or -1 with a message in err (the view is then empty). */
int colview_open(colview *v, const char *path, char *err, size_t errsize);
void colview_close(colview *v);
/* Dictionary string `code` (< dcount) and its length. */
const char *colview_dict(const colview *v, uint64_t code, size_t *len);
/*
 * Row i as text: a string value, or an integer / float / boolean written
 * into scratch (at least 32 bytes) as Lua's tostring would; NULL when the
 * row is empty.
 */
const char *colview_text(const colview *v, uint64_t i, size_t *len, char *scratch);
/* Row i as a number: 1 with *x set (numbers, and strings that read as one), else 0. */
int colview_number(const colview *v, uint64_t i, double *x);

#endif
