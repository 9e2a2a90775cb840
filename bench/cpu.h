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

static double
process_cpu(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    double total = 0;

    if (d == NULL) {
	return 0;
    }
    while ((e = readdir(d)) != NULL) {
	char path[300];
	unsigned long long ns;
	FILE *f;

	if (e->d_name[0] == '.') {
	    continue;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
	if ((f = fopen(path, "r")) != NULL) {
	    if (fscanf(f, "%llu", &ns) == 1) {
		total += ns / 1e9;
	    }
	    fclose(f);
	}
    }
    closedir(d);
    return total;
}

/*
 * Each voluntary switch is a thread going to sleep to wait: counted per
 * round trip, the thread hand-offs a design pays, which machine noise
 * hardly moves (unlike rates).
 */

static double
process_vcs(void)
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
	snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
	if ((f = fopen(path, "r")) != NULL) {
	    while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1) {
		    total += (double) n;
		}
	    }
	    fclose(f);
	}
    }
    closedir(d);
    return total;
}
