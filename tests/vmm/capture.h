/*
 * Test helper for tests/vmm: captures what a call writes to stderr (or stdout) so a test can assert
 * on the message a user would read, not only on the return value.
 */
#ifndef MOAT_TEST_VMM_CAPTURE_H
#define MOAT_TEST_VMM_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int fd;	   /* the stream's descriptor (2 or 1) */
	int saved; /* its original target */
	FILE *tmp;
	char text[8192];
};

static inline void capture_begin(struct capture *c, int fd)
{
	fflush(fd == 2 ? stderr : stdout);
	c->fd = fd;
	c->tmp = tmpfile();
	c->saved = dup(fd);
	dup2(fileno(c->tmp), fd);
}

/* Restores the stream; returns the captured text (NUL-terminated, truncated to fit). */
static inline const char *capture_end(struct capture *c)
{
	size_t n;

	fflush(c->fd == 2 ? stderr : stdout);
	dup2(c->saved, c->fd);
	close(c->saved);
	rewind(c->tmp);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->tmp);
	c->text[n] = '\0';
	fclose(c->tmp);
	return c->text;
}

#endif
