/*
 * hist.h - the users' histories that the training kernels read.
 *
 * The interactions a recipe trains on, after the solution's event filters,
 * as one row of distinct items per user (compressed sparse rows):
 *
 *   user u (0 .. n_users-1) has the items item[off[u] .. off[u+1]-1]
 *   (0 .. n_items-1), oldest first by their latest interaction; weight[p]
 *   is the summed event weight of that (user, item) pair (1 per event
 *   when the solution sets no event weights), time[p] its latest
 *   interaction's time (epoch seconds).
 *
 * Users and items are numbered in the order of their sorted string ids,
 * so equal data always gives equal models. The arrays are read-only to
 * the kernels: they may be mapped from files.
 */
#ifndef PERSONALIZE_HIST_H
#define PERSONALIZE_HIST_H

#include <stdint.h>

typedef struct {
	int32_t n_users, n_items;
	const int64_t *off;	/* n_users + 1 */
	const int32_t *item;	/* off[n_users] */
	const float *weight;	/* off[n_users] */
	const double *time;	/* off[n_users] */
} pz_hist;

/*
 * The histories of the history userdata (personalize.engine.core's
 * hist_build / hist_load) at stack index `idx`, for other parts' Lua
 * bindings; raises naming `fn` when it is not one or is closed. The
 * arrays stay valid while the userdata does (keep it on the stack).
 */
struct lua_State;
const pz_hist *pz_hist_arg(struct lua_State *L, int idx, const char *fn);

#endif
