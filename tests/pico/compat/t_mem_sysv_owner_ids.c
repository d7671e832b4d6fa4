#include "compat.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
/* SysV IPC objects read back as owned and made by the calling user (its
 * guest ids under lxs-pico), and IPC_SET changes their mode. */
static int mine(const struct ipc_perm *p)
{
	return p->uid == geteuid() && p->cuid == geteuid() && p->gid == getegid() && p->cgid == getegid();
}

int main(void)
{
	struct shmid_ds sd;
	int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0640);
	CHECK(shm >= 0);
	CHECK(shmctl(shm, IPC_STAT, &sd) == 0 && mine(&sd.shm_perm) && (sd.shm_perm.mode & 0777) == 0640);
	sd.shm_perm.mode = 0600;
	CHECK(shmctl(shm, IPC_SET, &sd) == 0);
	CHECK(shmctl(shm, IPC_STAT, &sd) == 0 && mine(&sd.shm_perm) && (sd.shm_perm.mode & 0777) == 0600);
	CHECK(shmctl(shm, IPC_RMID, 0) == 0);

	struct semid_ds md;
	int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	CHECK(sem >= 0);
	CHECK(semctl(sem, 0, IPC_STAT, &md) == 0 && mine(&md.sem_perm));
	CHECK(semctl(sem, 0, IPC_RMID) == 0);

	struct msqid_ds qd;
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	CHECK(q >= 0);
	CHECK(msgctl(q, IPC_STAT, &qd) == 0 && mine(&qd.msg_perm));
	qd.msg_perm.mode = 0640;
	CHECK(msgctl(q, IPC_SET, &qd) == 0);
	CHECK(msgctl(q, IPC_STAT, &qd) == 0 && mine(&qd.msg_perm) && (qd.msg_perm.mode & 0777) == 0640);
	CHECK(msgctl(q, IPC_RMID, 0) == 0);
	PASS();
}
