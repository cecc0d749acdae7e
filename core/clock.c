/* Real or virtual wall clock. */
#include "clock.h"

#include <time.h>

static int virtual_on;
static int64_t virtual_ms;

int64_t clock_now_ms(void)
{
	if (virtual_on)
		return virtual_ms;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_set_virtual(int64_t ms)
{
	virtual_on = 1;
	virtual_ms = ms;
}

int clock_advance(int64_t ms)
{
	if (!virtual_on || ms < 0)
		return -1;
	virtual_ms += ms;
	return 0;
}

int clock_is_virtual(void)
{
	return virtual_on;
}

void clock_set_real(void)
{
	virtual_on = 0;
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
