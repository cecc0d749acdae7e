/** QR codes on libqrencode, drawn as standalone SVG. Plain C. */
#ifndef CANDOR_QR_H
#define CANDOR_QR_H

#include <stddef.h>

/** An encoded symbol: width x width modules, row by row, 1 = dark. */
typedef struct qr {
	int version;         /* 1..40 */
	int width;           /* modules per side: 17 + 4 * version */
	unsigned char *dark; /* width * width bytes, 0 or 1 (owned) */
} qr_t;

/** Error correction levels, as libqrencode numbers them. */
enum qr_level { QR_L = 0, QR_M = 1, QR_Q = 2, QR_H = 3 };

/** Encodes the NUL-terminated text at the smallest version that holds it. Returns 0, or -1
 * with err set ("too_long" when no version holds it, else "qr"). */
int qr_encode(const char *text, enum qr_level level, qr_t *out, const char **err);
/** Frees what qr_encode allocated. */
void qr_free(qr_t *q);
/** The SVG document for q: one path with the dark modules (a horizontal run per "M x y h n v1
 * h-n z"), a white background, viewBox in modules (width + 2 * margin), width and height in
 * pixels (module each). Returns a malloc'd string (the caller frees) or NULL. */
char *qr_svg(const qr_t *q, int module, int margin, size_t *len);

#endif
