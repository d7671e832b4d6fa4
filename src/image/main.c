/*
 * lxs-mkimage - a distribution tarball becomes an ext4 image and back,
 * as an ordinary user (src/image/image.h does the work):
 *
 *   lxs-mkimage TARBALL|- IMAGE [--size SIZE]
 *   lxs-mkimage --export IMAGE OUT.tar[.gz|.xz|.zst]|- [--format FMT]
 *
 * Progress goes to stderr: one line redrawn in place on a terminal, a line
 * every few seconds otherwise. Errors are one sentence and exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/size.h"
#include "image/image.h"

#define TTY_INTERVAL_NS 100000000LL /* 10 redraws a second at most */
#define LOG_INTERVAL_NS 5000000000LL

struct display {
	bool tty, quiet, exporting, drawn;
	long long last_ns, start_ns;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lxs-mkimage TARBALL|- IMAGE [--size SIZE]\n"
		   "       lxs-mkimage --export IMAGE OUT.tar[.gz|.xz|.zst]|- [--format FMT]\n"
		   "\n"
		   "  --size SIZE    file system size, e.g. 8G (default 64G; the image is sparse\n"
		   "                 and only takes the space its files use)\n"
		   "  --export       write the files of IMAGE as a tarball instead\n"
		   "  --format FMT   tar, gz, xz or zst (default: from OUT's name; tar for -)\n"
		   "  -q, --quiet    no progress display\n");
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double mib(uint64_t b)
{
	return (double)b / (1 << 20);
}

static void draw(struct display *d, const struct image_progress *p)
{
	char line[200];
	int n;

	if (p->in_total)
		n = snprintf(line, sizeof(line), "%s %.0f of %.0f MiB (%d%%), %llu entries",
			     d->exporting ? "exporting:" : "importing:", mib(p->in_bytes),
			     mib(p->in_total), (int)(p->in_bytes * 100 / p->in_total),
			     (unsigned long long)p->entries);
	else
		n = snprintf(line, sizeof(line), "%s %.0f MiB of files, %llu entries",
			     d->exporting ? "exporting:" : "importing:", mib(p->data_bytes),
			     (unsigned long long)p->entries);
	if (n < 0)
		return;
	if (d->tty) {
		fprintf(stderr, "\r%s\033[K", line);
		d->drawn = true;
	} else {
		fprintf(stderr, "lxs-mkimage: %s\n", line);
	}
	fflush(stderr);
}

static void clear(struct display *d)
{
	if (d->tty && d->drawn)
		fputs("\r\033[K", stderr);
	d->drawn = false;
}

static int progress(const struct image_progress *p, void *arg)
{
	struct display *d = arg;
	long long t = now_ns();

	if (p->warning) {
		clear(d);
		fprintf(stderr, "lxs-mkimage: warning: %s\n", p->warning);
		return 0;
	}
	if (d->quiet)
		return 0;
	if (p->done) {
		clear(d);
		return 0;
	}
	if (t - d->last_ns < (d->tty ? TTY_INTERVAL_NS : LOG_INTERVAL_NS))
		return 0;
	/* Quick jobs finish without a progress line. */
	if (!d->tty && t - d->start_ns < LOG_INTERVAL_NS)
		return 0;
	d->last_ns = t;
	draw(d, p);
	return 0;
}

static int parse_format(const char *s, enum image_tar_format *f)
{
	static const struct {
		const char *name;
		enum image_tar_format f;
	} names[] = {{"tar", IMAGE_TAR},   {"gz", IMAGE_TAR_GZ},    {"gzip", IMAGE_TAR_GZ},
		     {"xz", IMAGE_TAR_XZ}, {"zst", IMAGE_TAR_ZSTD}, {"zstd", IMAGE_TAR_ZSTD}};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*f = names[i].f;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"size", required_argument, NULL, 's'},   {"export", no_argument, NULL, 'e'},
	    {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	enum image_tar_format fmt = IMAGE_TAR_AUTO;
	struct display d = {0};
	uint64_t size = 0;
	char err[1024];
	int c, r;

	log_init("lxs-mkimage", LOG_NORMAL);
	while ((c = getopt_long(argc, argv, "s:ef:qh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (size_parse(optarg, &size) < 0)
				size = 0; /* refused just below */
			if (!size)
				fatalx(1, "--size %s is not a size (try 8G or 512M)", optarg);
			break;
		case 'e':
			d.exporting = true;
			break;
		case 'f':
			if (parse_format(optarg, &fmt) < 0)
				fatalx(1, "--format %s is not one of tar, gz, xz, zst", optarg);
			break;
		case 'q':
			d.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	d.tty = isatty(2);
	d.start_ns = d.last_ns = now_ns();
	if (d.tty)
		d.last_ns = 0; /* draw at once on a terminal */

	if (d.exporting) {
		if (size)
			fatalx(1, "--size is for making an image, not for --export");
		if (!strcmp(argv[optind + 1], "-") && isatty(1))
			fatalx(1, "refusing to write a tarball to a terminal");
		r = image_to_tar(argv[optind], argv[optind + 1], 1, fmt, progress, &d, err,
				 sizeof(err));
	} else {
		if (fmt != IMAGE_TAR_AUTO)
			fatalx(
			    1,
			    "--format is for --export; tarballs are recognized by their content");
		r = image_from_tar(argv[optind], 0, argv[optind + 1], size, progress, &d, err,
				   sizeof(err));
	}
	clear(&d);
	if (r < 0)
		fatalx(1, "%s", err);
	return 0;
}
