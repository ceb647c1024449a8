/*
 * The few C library routines the core uses. At EL2 core/lib.c provides them
 * (the compiler may also emit calls to memcpy/memset); the host-native build
 * (ARCH=fake) uses the C library's, so unit tests run the same generic code.
 */
#ifndef MOAT_LIB_H
#define MOAT_LIB_H

#include "types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Parse an unsigned number ("0x" prefix means hex); returns false on junk. */
bool parse_u64(const char *s, size_t len, u64 *out);

#endif
