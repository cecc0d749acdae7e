/** The Candor version. */
#ifndef CANDOR_VERSION
#define CANDOR_VERSION "0.1.0"
#endif
