/*
 * ipc.h - the conversation between lxs and lxsd over lxsd's Unix socket
 * (paths.h: run/lxsd.sock, 0600 in a 0700 folder; lxsd also checks
 * SO_PEERCRED), in the frames every control path of lxs speaks
 * (common/wire.h; the messages, their payloads and the rules are in
 * common/proto.h, "lxsd's socket").
 *
 * Requests: LXSD_PING (OK), LXSD_RUN (PLAN or ERROR; the connection then
 * stays open for the session's life), LXSD_TERMINATE name (OK),
 * LXSD_SHUTDOWN (OK once the VM is gone), LXSD_STATUS (STATE), LXSD_HOLD (OK;
 * lxs-fs keeps the connection open while distro files are in use, and lxsd
 * stays up while it does).
 *
 * The encoders and decoders here are pure (no I/O) so that a fuzzer can
 * feed them anything; lxsd checks every request with them before acting.
 */
#ifndef LXS_STORE_IPC_H
#define LXS_STORE_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/call.h"
#include "common/proto.h"
#include "store/paths.h"
#include "store/plan.h"

/* A RUN request as lxsd reads it: strings point into the payload it came in. */
struct ipc_run {
	const char *name;
	struct plan_request rq;
	const char **strs; /* the payload's strings (allocated) */
};
/*
 * Payload of LXSD_RUN for distro name and rq into a new buffer *out (free
 * it): its length, or -E2BIG when it does not fit in a message.
 */
long ipc_encode_run(const char *name, const struct plan_request *rq, uint8_t **out);
/* Check and split an LXSD_RUN payload: 0 or -EPROTO; ipc_run_free after. */
int ipc_decode_run(const uint8_t *p, size_t len, struct ipc_run *r);
void ipc_run_free(struct ipc_run *r);

/* A PLAN answer as lxs reads it. */
struct ipc_plan {
	const char *vsock, *distro, *user, *cwd;
	uint32_t port;
	bool host_cwd, interop;
	const char **argv, **envp; /* NULL-terminated, into the payload (one allocation) */
};
long ipc_encode_plan(const char *vsock, uint32_t port, const struct session_plan *pl,
		     uint8_t **out);
int ipc_decode_plan(const uint8_t *p, size_t len, struct ipc_plan *pl);
void ipc_plan_free(struct ipc_plan *pl);

/* A STATE answer. */
struct ipc_state {
	uint32_t vm; /* enum lxs_vm_state */
	int32_t vm_pid;
	uint32_t n;
	struct {
		uint32_t state, sessions;
		char name[REG_NAME_MAX + 1];
	} d[LXS_STATE_MAX];
};
long ipc_encode_state(const struct ipc_state *st, uint8_t *out, size_t cap);
int ipc_decode_state(const uint8_t *p, size_t len, struct ipc_state *st);

/* Requests go out with call_fd() (common/call.h): HELLO, the request, the answer. */

/*
 * Connect to lxsd. With spawn, start it when it is not running (it
 * detaches and outlives us) and wait for its socket. The run folder is
 * checked before (paths_check_run_dir) and the server's uid after: both
 * refusals are -EPERM, which callers report even where a missing lxsd is
 * fine. Returns the fd or -errno with one sentence in err.
 */
int lxsd_connect(const struct lxs_paths *p, bool spawn, char *err, size_t errlen);

#endif
