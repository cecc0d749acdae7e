/** The clock: real time, or a virtual time that only moves when told (tests). */
#ifndef CANDOR_CLOCK_H
#define CANDOR_CLOCK_H

#include <stdint.h>

/** Milliseconds since the Unix epoch, UTC; virtual when clock_set_virtual was called. */
int64_t clock_now_ms(void);
/** Switches to a virtual clock starting at ms (tests). */
void clock_set_virtual(int64_t ms);
/** Moves the virtual clock forward by ms (no effect, returns -1, on the real clock). */
int clock_advance(int64_t ms);
/** Returns 1 when the clock is virtual. */
int clock_is_virtual(void);
/** Goes back to the real clock. */
void clock_set_real(void);
/** Monotonic milliseconds for measuring durations (never virtual). */
int64_t clock_mono_ms(void);
/** Monotonic microseconds for measuring short durations (never virtual). */
int64_t clock_mono_us(void);

#endif
