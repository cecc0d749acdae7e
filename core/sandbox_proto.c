/* The frames of the sandbox worker protocol that carry more than a few fields (see
 * sandbox_proto.h): LOAD and REPLY, written and read in one place for both sides. */
#include "sandbox_proto.h"

#include "sandbox_wire.h"

#include <string.h>

size_t sbp_frame_begin(buf_t *b, unsigned type)
{
	size_t start = b->len;
	wire_put_u32(b, 0);
	wire_put_u8(b, type);
	return start;
}

void sbp_frame_end(buf_t *b, size_t start)
{
	if (b->oom)
		return;
	uint32_t n = (uint32_t)(b->len - start - 4);
	unsigned char c[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 24)};
	memcpy(b->p + start, c, 4);
}

void sbp_put_load(buf_t *b, const sbp_load_t *l)
{
	size_t start = sbp_frame_begin(b, SBP_LOAD);
	wire_put_u32(b, l->id);
	wire_put_i64(b, l->now_ms);
	wire_put_i64(b, (int64_t)l->lim.memory);
	wire_put_i64(b, l->lim.instructions);
	wire_put_i64(b, l->lim.batch_instructions);
	wire_put_str(b, l->name, l->name_len);
	wire_put_str(b, l->src, l->src_len);
	wire_put_str(b, l->env ? l->env : "", l->env_len);
	wire_put_str(b, l->fns ? l->fns : "", l->fns_len);
	sbp_frame_end(b, start);
}

int sbp_get_load(const char *p, size_t n, sbp_load_t *l)
{
	wire_rd_t r = {.p = p, .len = n};
	l->id = wire_get_u32(&r);
	l->now_ms = wire_get_i64(&r);
	l->lim.memory = (size_t)wire_get_i64(&r);
	l->lim.instructions = wire_get_i64(&r);
	l->lim.batch_instructions = wire_get_i64(&r);
	l->name = wire_get_str(&r, &l->name_len);
	l->src = wire_get_str(&r, &l->src_len);
	l->env = wire_get_str(&r, &l->env_len);
	l->fns = wire_get_str(&r, &l->fns_len);
	return r.bad || l->name_len == 0 || l->name_len > 255 ? -1 : 0;
}

void sbp_put_reply(buf_t *b, const sbp_reply_t *r)
{
	size_t start = sbp_frame_begin(b, SBP_REPLY);
	wire_put_u8(b, (unsigned)r->code);
	wire_put_i64(b, (int64_t)r->st.memory);
	wire_put_i64(b, (int64_t)r->st.memory_peak);
	wire_put_i64(b, r->st.instructions);
	wire_put_u8(b, (unsigned)r->st.dead);
	wire_put_u8(b, r->held ? 1 : 0);
	wire_put_str(b, r->payload ? r->payload : "", r->payload_len);
	sbp_frame_end(b, start);
}

int sbp_get_reply(const char *p, size_t n, sbp_reply_t *r)
{
	wire_rd_t rd = {.p = p, .len = n};
	r->code = (int)wire_get_u8(&rd);
	r->st.memory = (size_t)wire_get_i64(&rd);
	r->st.memory_peak = (size_t)wire_get_i64(&rd);
	r->st.instructions = wire_get_i64(&rd);
	r->st.dead = (int)wire_get_u8(&rd);
	r->held = (int)wire_get_u8(&rd);
	r->payload = wire_get_str(&rd, &r->payload_len);
	if (rd.bad || r->code >= SANDBOX_NCODES ||
	    (r->st.dead && r->st.dead != SANDBOX_INSTRUCTIONS && r->st.dead != SANDBOX_MEMORY))
		return -1;
	return 0;
}
