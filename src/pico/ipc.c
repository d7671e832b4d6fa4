/*
 * ipc.c - SysV IPC control calls (shmctl, semctl, msgctl) in guest terms.
 * Every object a guest makes belongs on the host to the user who runs
 * lxs. Its owner and creator read back as the calling guest user (the
 * guest ids an object was made or given to are not kept anywhere the
 * kernel would hold them); and a guest's IPC_SET keeps the host owner,
 * since the host would otherwise hand the object to whichever host user
 * has the guest's number.
 */
#include <linux/errno.h>
#include <linux/ipc.h>
#include <linux/shm.h>
#include <linux/sem.h>
#include <linux/msg.h>

#include "pico.h"
#include "sys.h"

#define SHM_STAT_ANY 15
#define SEM_STAT_ANY 20
#define MSG_STAT_ANY 13

/* Owner fields at the start of every *id64_ds (struct ipc64_perm). */
struct owners {
	int key;
	unsigned uid, gid, cuid, cgid;
};

/* The size of the call's *id64_ds, or 0 for commands that read or write
 * none of it here. stat: the command reads one back. */
static unsigned long ds_size(long nr, int cmd, int *stat)
{
	*stat = 0;
	switch (nr) {
	case __NR_shmctl:
		*stat = cmd == IPC_STAT || cmd == SHM_STAT || cmd == SHM_STAT_ANY;
		return *stat || cmd == IPC_SET ? sizeof(struct shmid64_ds) : 0;
	case __NR_semctl:
		*stat = cmd == IPC_STAT || cmd == SEM_STAT || cmd == SEM_STAT_ANY;
		return *stat || cmd == IPC_SET ? sizeof(struct semid64_ds) : 0;
	default:
		*stat = cmd == IPC_STAT || cmd == MSG_STAT || cmd == MSG_STAT_ANY;
		return *stat || cmd == IPC_SET ? sizeof(struct msqid64_ds) : 0;
	}
}

long pico_ipc_ctl(long nr, const long *a)
{
	/* shmctl(id, cmd, buf), msgctl(id, cmd, buf), semctl(id, num, cmd, arg) */
	int argi = nr == __NR_semctl ? 3 : 2;
	int cmd = (int)(nr == __NR_semctl ? a[2] : a[1]) & ~IPC_64;
	int stat;
	unsigned long n = ds_size(nr, cmd, &stat);
	long b[6] = {a[0], a[1], a[2], a[3], a[4], a[5]};
	union {
		struct shmid64_ds shm;
		struct semid64_ds sem;
		struct msqid64_ds msg;
		struct owners o;
	} ds;
	if (n && cmd == IPC_SET) {
		if (pico_ucopy(&ds, (const void *)a[argi], n))
			return -EFAULT;
		ds.o.uid = pico.host_uid;
		ds.o.gid = pico.host_gid;
		b[argi] = (long)&ds;
	}
	long r = sys4(nr, b[0], b[1], b[2], b[3]);
	if (r < 0 || !stat)
		return r;
	struct owners o;
	if (pico_ucopy(&o, (const void *)a[argi], sizeof o))
		return r; /* the kernel wrote it; another thread took it away */
	if (o.uid == pico.host_uid)
		o.uid = pico.euid;
	if (o.cuid == pico.host_uid)
		o.cuid = pico.euid;
	if (o.gid == pico.host_gid)
		o.gid = pico.egid;
	if (o.cgid == pico.host_gid)
		o.cgid = pico.egid;
	pico_ucopy((void *)a[argi], &o, sizeof o);
	return r;
}
