/** A bump allocator for documents copied out of Lua (exports built on the thread pool): many
 * small allocations, freed together. Also the UTF-8 check those copies need. Plain C. */
#ifndef CANDOR_ARENA_H
#define CANDOR_ARENA_H

#include <stddef.h>

struct arena_block;

/** An arena; zero-initialise it ({0}) before use. */
typedef struct arena {
	struct arena_block *head; /* newest block first */
	size_t total;             /* bytes handed out */
} arena_t;

/** n zeroed bytes aligned for any type, or NULL when out of memory. */
void *arena_alloc(arena_t *a, size_t n);
/** A NUL-terminated copy of the n bytes at s, or NULL when out of memory. */
char *arena_strndup(arena_t *a, const char *s, size_t n);
/** Frees every block; the arena can be used again. */
void arena_free(arena_t *a);
/** 1 when the n bytes at s are valid UTF-8 without NUL bytes, else 0. */
int utf8_valid(const char *s, size_t n);
/** Number of code points in valid UTF-8 text s of n bytes. */
size_t utf8_len(const char *s, size_t n);
/** Writes code point c (at most U+10FFFF) as UTF-8 at out (room for 4 bytes); returns its length. */
size_t utf8_put(char *out, unsigned long c);

#endif
