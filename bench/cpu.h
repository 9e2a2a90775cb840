/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * cpu.h -- CPU time of this process, all threads, in seconds: the sum of
 * /proc/self/task/N/schedstat (nanoseconds on the CPU); and its voluntary
 * context switches, all threads, from /proc/self/task/N/status. The Tcl and
 * Python clients read the same figures, so every client is measured alike.
 */

#include <dirent.h>
#include <stdio.h>

/*
 * Sums, over every thread's /proc/self/task/N/FILE, the number read from it
 * with `format` (from the first line that matches it).
 */

static double
sum_over_threads(
    const char *file,
    const char *format)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    double total = 0;

    if (d == NULL) {
	return 0;
    }
    while ((e = readdir(d)) != NULL) {
	char path[300], line[256];
	unsigned long long n;
	FILE *f;

	if (e->d_name[0] == '.') {
	    continue;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%s/%s", e->d_name, file);
	if ((f = fopen(path, "r")) != NULL) {
	    while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, format, &n) == 1) {
		    total += (double) n;
		    break;
		}
	    }
	    fclose(f);
	}
    }
    closedir(d);
    return total;
}

static double
process_cpu(void)
{
    return sum_over_threads("schedstat", "%llu") / 1e9;
}

/*
 * Each voluntary switch is a thread going to sleep to wait: counted per
 * round trip, the thread hand-offs a design pays, which machine noise
 * hardly moves (unlike rates).
 */

static double
process_vcs(void)
{
    return sum_over_threads("status", "voluntary_ctxt_switches: %llu");
}
