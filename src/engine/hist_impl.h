/*
 * hist_impl.h - what hist.c (the history userdata) and hist_build.c (its
 * builder) share; not an interface for other parts.
 */
#ifndef PERSONALIZE_HIST_IMPL_H
#define PERSONALIZE_HIST_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "../compat.h"
#include "hist.h"

#define HIST_TNAME "personalize.engine.hist"
#define MSG 1024

/* The userdata: a built history (malloc'd arrays), or a loaded one (mapped). */
typedef struct {
	pz_hist h;
	int64_t *off;
	int32_t *item;
	float *weight;
	double *time;
	/* sorted ids: offsets (count + 1) into bytes */
	uint64_t *uoff, *ioff;
	char *ubytes, *ibytes;
	/* per item (built only) */
	int32_t *distinct, *total;
	double *first_time;
	double t_min, t_max;
	int64_t events, rows, active_users;
	int built;
	void *map;		/* a loaded file */
	size_t map_size;
} hist_ud;

void hist_free(hist_ud *u);

/* A string and its length, for sorting and searching ids. */
typedef struct {
	const char *s;
	size_t len;
	int32_t code;
} id_ref;

int id_cmp(const void *pa, const void *pb);
int hist_fail(lua_State *L, const char *msg);	/* pushes nil, msg; returns 2 */

int pz_hist_build(lua_State *L);		/* hist_build.c */
void pz_open_hist_build(lua_State *L);	/* registers the builder's class */

#endif
