/*
 * blkbench - PID 1 for bench/session's block measurement: reads /dev/vda
 * with O_DIRECT (sequential 1 MiB, then 4 KiB at random offsets from 16
 * threads for a fixed time), prints one line, powers off. The same binary
 * runs under lxs-vm and QEMU, so both are measured by the same guest code.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/proto.h"

#define THREADS 16
#define RAND_SECONDS 4

static int fd;
static uint64_t size;
static volatile int stop;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *rand_reader(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1, n = 0;
	void *buf;

	if (posix_memalign(&buf, 4096, 4096))
		return NULL;
	while (!stop) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (pread(fd, buf, 4096, (off_t)((seed % (size / 4096)) * 4096)) != 4096)
			break;
		n++;
	}
	free(buf);
	return (void *)(uintptr_t)n;
}

int main(void)
{
	pthread_t t[THREADS];
	void *buf;
	uint64_t total = 0, ops = 0;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/vda", O_RDONLY | O_DIRECT);
	if (fd < 0 || (size = (uint64_t)lseek(fd, 0, SEEK_END)) < (1 << 20) ||
	    posix_memalign(&buf, 4096, 1 << 20)) {
		printf("BLKBENCH error cannot open /dev/vda\n");
		goto off;
	}
	uint64_t want = size < (512ULL << 20) ? size : (512ULL << 20);
	double t0 = now();
	while (total < want && pread(fd, buf, 1 << 20, (off_t)total) == 1 << 20)
		total += 1 << 20;
	double seq = now() - t0;
	t0 = now();
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, rand_reader, (void *)i);
	struct timespec d = { RAND_SECONDS, 0 };
	nanosleep(&d, NULL);
	stop = 1;
	for (int i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		ops += (uintptr_t)r;
	}
	double rnd = now() - t0;
	printf("BLKBENCH seq_mibs=%.1f rand_iops=%.0f\n", total / 1048576.0 / seq, ops / rnd);
off:
	fflush(stdout);
	if (iopl(3) == 0) {
		outl(LXS_POWER_VALUE(LXS_POWER_OFF, 0), LXS_PORT_POWER);
		outl(0, 0xf4); /* QEMU's isa-debug-exit */
	}
	reboot(RB_POWER_OFF);
	return 0;
}
