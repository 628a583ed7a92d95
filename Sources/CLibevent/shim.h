#ifndef HOPTRACE_CLIBEVENT_SHIM_H
#define HOPTRACE_CLIBEVENT_SHIM_H

/* System headers first: libevent's event-config.h defines _GNU_SOURCE, and if it ran
   before glibc's features.h, fd_set and friends would be declared differently here than
   in Swift's Glibc module, and the two modules would not load together. */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <errno.h>
#include <sys/prctl.h>
#include <malloc.h>
#include <sys/eventfd.h>

#include <poll.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <errno.h>

/* Function-like macros of libevent do not import into Swift: wrap them. */

static inline struct event *hoptrace_evtimer_new(struct event_base *base, event_callback_fn cb, void *arg) {
    return evtimer_new(base, cb, arg);
}

static inline struct event *hoptrace_evsignal_new(struct event_base *base, int signum, event_callback_fn cb, void *arg) {
    return evsignal_new(base, signum, cb, arg);
}

/* A user-triggered event (no fd, no timeout), fired with event_active(). */
static inline struct event *hoptrace_evuser_new(struct event_base *base, event_callback_fn cb, void *arg) {
    return event_new(base, -1, 0, cb, arg);
}

static inline int hoptrace_event_add_msec(struct event *ev, long msec) {
    struct timeval tv = { msec / 1000, (msec % 1000) * 1000 };
    return event_add(ev, &tv);
}

static inline int hoptrace_errno(void) { return errno; }

/* Gives the allocator's free pages back to the system (all arenas). */
static inline void hoptrace_malloc_trim(void) { malloc_trim(0); }

/* prctl is variadic, which Swift cannot call. Names the calling thread (15 bytes). */
static inline void hoptrace_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/* SSL_set_tlsext_host_name is a macro. */
static inline int hoptrace_ssl_set_sni(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/* deflateInit2 is a macro: gzip framing (window bits 15 + 16). */
static inline int hoptrace_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

/* inflateInit2 is a macro: gzip framing (window bits 15 + 16). */
static inline int hoptrace_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

#endif
