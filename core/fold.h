/** Case- and accent-insensitive keys for ordering and finding people by name: "Ångström" folds
 * to "angstrom", "ŁUKASZ" to "lukasz", "Straße" to "strasse", "Ελένη" to "ελενη". Latin
 * (Latin-1, Latin Extended-A, Romanian), Greek and Cyrillic are folded; other scripts keep their
 * characters (so CJK sorts by code point, after Latin). Not a locale's collation: Å sorts with A
 * (as in English and German), not after Z (as in Swedish). Plain C. */
#ifndef CANDOR_FOLD_H
#define CANDOR_FOLD_H

#include <stddef.h>

/** Writes the fold of the UTF-8 text s (n bytes) to out (cap bytes; NUL-terminated when cap >
 * 0, cut between characters when too small) and returns the length the whole fold needs
 * (without the NUL). Invalid bytes are kept as they are. */
size_t fold_text(const char *s, size_t n, char *out, size_t cap);

/** Compares UTF-8 texts a (an bytes) and b (bn bytes) by their folds, then (equal folds) by
 * their bytes: < 0, 0 or > 0. The FOLD collation of the database. */
int fold_compare(const char *a, size_t an, const char *b, size_t bn);

#endif
