/* QR codes on libqrencode (plain C, no Lua). */
#include "qr.h"

#include "buf.h"

#include <errno.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qr_encode(const char *text, enum qr_level level, qr_t *out, const char **err)
{
	memset(out, 0, sizeof *out);
	errno = 0;
	QRcode *c = QRcode_encodeString(text, 0, (QRecLevel)level, QR_MODE_8, 1);
	if (!c) {
		*err = errno == ERANGE ? "too_long" : "qr";
		return -1;
	}
	size_t n = (size_t)c->width * (size_t)c->width;
	out->dark = malloc(n);
	if (!out->dark) {
		QRcode_free(c);
		*err = "qr";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out->dark[i] = c->data[i] & 1;
	out->version = c->version;
	out->width = c->width;
	QRcode_free(c);
	return 0;
}

void qr_free(qr_t *q)
{
	free(q->dark);
	q->dark = NULL;
}

char *qr_svg(const qr_t *q, int module, int margin, size_t *len)
{
	buf_t b = {0};
	int side = q->width + 2 * margin;
	buf_printf(&b,
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
	           "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
	           "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	           side * module, side * module, side, side, side, side);
	for (int y = 0; y < q->width; y++) {
		const unsigned char *row = q->dark + (size_t)y * (size_t)q->width;
		for (int x = 0; x < q->width;) {
			if (!row[x]) {
				x++;
				continue;
			}
			int run = 1;
			while (x + run < q->width && row[x + run])
				run++;
			buf_printf(&b, "M%d %dh%dv1h-%dz", x + margin, y + margin, run, run);
			x += run;
		}
	}
	buf_printf(&b, "\"/></svg>");
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
