/** Logging: one line per event on stderr, "time level message key=value...". */
#ifndef CANDOR_LOG_H
#define CANDOR_LOG_H

/** Log levels, lowest first. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/** Sets the lowest level that is written (default LOG_INFO). */
void log_set_level(enum log_level level);
/** Writes one log line; fmt is printf-style. Never pass secrets. */
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
