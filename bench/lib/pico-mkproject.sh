#!/usr/bin/env bash
# bench/lib/pico-mkproject.sh DIR [N] - a C project of N (40) files and a
# Makefile, deterministic, for the make -j2 benchmark: each file is a few
# hundred lines of ordinary code that includes a few system headers.
set -euo pipefail
dir=${1:?usage: mkproject.sh DIR [N]}
n=${2:-40}
mkdir -p "$dir"
for i in $(seq 1 "$n"); do
	{
		echo '#include <stdio.h>'
		echo '#include <stdlib.h>'
		echo '#include <string.h>'
		echo '#include <math.h>'
		echo "#include \"common.h\""
		for j in $(seq 1 10); do
			cat <<EOC
struct s${i}_${j} { int a; double b; char name[32]; };
static int cmp_${i}_${j}(const void *x, const void *y)
{
	const struct s${i}_${j} *p = x, *q = y;
	if (p->a != q->a)
		return p->a - q->a;
	return strcmp(p->name, q->name);
}
double f${i}_${j}(int n)
{
	struct s${i}_${j} *v = calloc((size_t)n, sizeof *v);
	double acc = 0;
	for (int k = 0; k < n; k++) {
		v[k].a = (k * ${j}) % 17;
		v[k].b = sin(k * 0.${i}) + cos(k * 0.${j});
		snprintf(v[k].name, sizeof v[k].name, "n%d_%d", k, ${j});
	}
	qsort(v, (size_t)n, sizeof *v, cmp_${i}_${j});
	for (int k = 0; k < n; k++)
		acc += v[k].b * v[k].a;
	free(v);
	return acc;
}
EOC
		done
	} >"$dir/f$i.c"
done
cat >"$dir/common.h" <<'EOC'
#ifndef COMMON_H
#define COMMON_H
double total(void);
#endif
EOC
{
	echo '#include <stdio.h>'
	echo 'int main(void) { puts("built"); return 0; }'
} >"$dir/main.c"
cat >"$dir/Makefile" <<'EOC'
SRC := $(wildcard *.c)
OBJ := $(SRC:.c=.o)
CFLAGS := -O2 -g
prog: $(OBJ)
	$(CC) -o $@ $(OBJ) -lm
%.o: %.c common.h
	$(CC) $(CFLAGS) -c -o $@ $<
clean:
	rm -f $(OBJ) prog
EOC
