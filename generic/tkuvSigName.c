/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvSigName.c --
 *
 *	Signal names and numbers, shared by tkuv::signal and tkuv::spawn's
 *	kill and exit event. Names are accepted with or without the SIG
 *	prefix, in any case; numbers as they are.
 */

#include "tkuvInt.h"
#include <signal.h>
#include <string.h>

typedef struct SignalName {
    const char *name;
    int number;
} SignalName;

/*
 * The names tkuv knows; a platform lacking one simply leaves it out.
 * Windows' <signal.h> has few, and libuv's headers add SIGHUP and SIGWINCH.
 */
static const SignalName signalNames[] = {
#ifdef SIGHUP
    {"SIGHUP", SIGHUP},
#endif
#ifdef SIGINT
    {"SIGINT", SIGINT},
#endif
#ifdef SIGQUIT
    {"SIGQUIT", SIGQUIT},
#endif
#ifdef SIGILL
    {"SIGILL", SIGILL},
#endif
#ifdef SIGTRAP
    {"SIGTRAP", SIGTRAP},
#endif
#ifdef SIGABRT
    {"SIGABRT", SIGABRT},
#endif
#ifdef SIGBUS
    {"SIGBUS", SIGBUS},
#endif
#ifdef SIGFPE
    {"SIGFPE", SIGFPE},
#endif
#ifdef SIGKILL
    {"SIGKILL", SIGKILL},
#endif
#ifdef SIGUSR1
    {"SIGUSR1", SIGUSR1},
#endif
#ifdef SIGSEGV
    {"SIGSEGV", SIGSEGV},
#endif
#ifdef SIGUSR2
    {"SIGUSR2", SIGUSR2},
#endif
#ifdef SIGPIPE
    {"SIGPIPE", SIGPIPE},
#endif
#ifdef SIGALRM
    {"SIGALRM", SIGALRM},
#endif
#ifdef SIGTERM
    {"SIGTERM", SIGTERM},
#endif
#ifdef SIGCHLD
    {"SIGCHLD", SIGCHLD},
#endif
#ifdef SIGCONT
    {"SIGCONT", SIGCONT},
#endif
#ifdef SIGSTOP
    {"SIGSTOP", SIGSTOP},
#endif
#ifdef SIGTSTP
    {"SIGTSTP", SIGTSTP},
#endif
#ifdef SIGTTIN
    {"SIGTTIN", SIGTTIN},
#endif
#ifdef SIGTTOU
    {"SIGTTOU", SIGTTOU},
#endif
#ifdef SIGURG
    {"SIGURG", SIGURG},
#endif
#ifdef SIGXCPU
    {"SIGXCPU", SIGXCPU},
#endif
#ifdef SIGXFSZ
    {"SIGXFSZ", SIGXFSZ},
#endif
#ifdef SIGVTALRM
    {"SIGVTALRM", SIGVTALRM},
#endif
#ifdef SIGPROF
    {"SIGPROF", SIGPROF},
#endif
#ifdef SIGWINCH
    {"SIGWINCH", SIGWINCH},
#endif
#ifdef SIGIO
    {"SIGIO", SIGIO},
#endif
#ifdef SIGPWR
    {"SIGPWR", SIGPWR},
#endif
#ifdef SIGSYS
    {"SIGSYS", SIGSYS},
#endif
#ifdef SIGBREAK
    {"SIGBREAK", SIGBREAK},
#endif
    {NULL, 0}
};

/*
 *----------------------------------------------------------------------
 *
 * TkuvGetSignal --
 *
 *	A signal from a name (SIGTERM, TERM, term) or a number from
 *	`minimum` to TKUV_MAX_SIGNAL.
 *
 * Results:
 *	TCL_OK and *signumPtr, or a {TKUV USAGE} error naming the value.
 *
 *----------------------------------------------------------------------
 */

int
TkuvGetSignal(
    Tcl_Interp *interp,
    Tcl_Obj *obj,
    int minimum,
    int *signumPtr)
{
    const char *str = Tcl_GetString(obj), *bare = str;
    const SignalName *sn;
    int signum;

    if (Tcl_GetIntFromObj(NULL, obj, &signum) == TCL_OK
	    || (*str >= '0' && *str <= '9') || *str == '-') {
	if (Tcl_GetIntFromObj(NULL, obj, &signum) != TCL_OK
		|| signum < minimum || signum > TKUV_MAX_SIGNAL) {
	    return TkuvUsageError(interp, "bad signal number \"%s\": must be "
		    "from %d to %d", str, minimum, TKUV_MAX_SIGNAL);
	}
	*signumPtr = signum;
	return TCL_OK;
    }
    /* Names are ASCII; Tcl's comparison keeps this free of strcasecmp. */
    if (strlen(bare) > 3 && Tcl_UtfNcasecmp(bare, "SIG", 3) == 0) {
	bare += 3;
    }
    for (sn = signalNames; sn->name != NULL; sn++) {
	if (strlen(bare) == strlen(sn->name + 3)
		&& Tcl_UtfNcasecmp(bare, sn->name + 3,
		(unsigned long) strlen(bare)) == 0) {
	    *signumPtr = sn->number;
	    return TCL_OK;
	}
    }
    return TkuvUsageError(interp, "unknown signal \"%s\": expected a name "
	    "such as SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 or SIGWINCH "
	    "(the SIG prefix and case are optional), or a number from %d "
	    "to %d", str, minimum, TKUV_MAX_SIGNAL);
}

/*
 *----------------------------------------------------------------------
 *
 * TkuvSignalName --
 *
 *	The name of a signal ("SIGTERM"), or NULL when tkuv knows none.
 *
 *----------------------------------------------------------------------
 */

const char *
TkuvSignalName(
    int signum)
{
    const SignalName *sn;

    for (sn = signalNames; sn->name != NULL; sn++) {
	if (sn->number == signum) {
	    return sn->name;
	}
    }
    return NULL;
}
