#ifndef HOPTRACE_CLIBEVENT_SHIM_H
#define HOPTRACE_CLIBEVENT_SHIM_H

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>
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

#endif
