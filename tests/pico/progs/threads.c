/* Threads under the translator: each thread makes trapped calls (stat,
 * getuid, open) concurrently; one thread execs at the end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

static void *work(void *arg)
{
	long bad = 0;
	for (int i = 0; i < 2000; i++) {
		struct stat st;
		if (stat("/etc/passwd", &st) != 0 || getuid() != 0)
			bad++;
		int fd = open("/etc/hostname", O_RDONLY);
		if (fd < 0)
			bad++;
		else
			close(fd);
	}
	return (void *)bad;
}

int main(int argc, char **argv)
{
	pthread_t t[8];
	long bad = 0;
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, work, NULL);
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("threads bad=%ld\n", bad);
	fflush(stdout);
	if (argc > 1 && bad == 0)
		execl("/bin/echo", "echo", "exec-from-thread-program-ok", (char *)NULL);
	return bad != 0;
}
