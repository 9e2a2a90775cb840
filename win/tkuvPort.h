/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvPort.h (Windows) --
 *
 *	The platform layer, Windows side: the names of unix/tkuvPort.h (see
 *	there for what each means), implemented in win/tkuvWinPort.c.
 */

#ifndef TKUV_PORT_H
#define TKUV_PORT_H

#include <uv.h>			/* Brings windows.h in the right order. */
#include <tcl.h>

#ifndef MODULE_SCOPE
#define MODULE_SCOPE extern
#endif

/* libuv's backend is an I/O completion port (uv_backend_fd is -1). */
typedef HANDLE TkuvWaitable;
#define TkuvpLoopWaitable(loop)	((loop)->iocp)
#define TkuvpWaitableFd(w)	((void) (w), 0)	/* An IOCP: never an fd. */

/*
 * Capabilities. libuv on Windows may hold a buffer across a pending read
 * on each of several streams at once; a SOCKET cannot be handed to another
 * loop; Tcl's notifier cannot wait on an IOCP.
 */
#define TKUVP_SYNC_READS	0
#define TKUVP_FD_SOCKETS	0
#define TKUVP_FILE_HANDLERS	0
#define TKUVP_POLLED_FILES	0
#define TKUVP_GUEST_IOCP	1
#define TKUVP_WATCH_RECURSIVE	1

typedef int TkuvpSockLen;
#define TkuvpSocket(fd)		((SOCKET) (fd))

/* libuv takes and gives UTF-8 (it converts to UTF-16 itself). */
MODULE_SCOPE Tcl_Encoding TkuvpNativeEncoding(void);
MODULE_SCOPE void	TkuvpUtfToNative(const char *utf, Tcl_DString *dsPtr);
MODULE_SCOPE void	TkuvpNativeToUtf(const char *native,
			    Tcl_DString *dsPtr);
MODULE_SCOPE void	TkuvpFsPath(Tcl_Obj *pathObj, const char *native,
			    Tcl_DString *dsPtr);

MODULE_SCOPE int	TkuvpErrno(int uvErr);

MODULE_SCOPE int	TkuvpInputWaiting(uv_os_fd_t fd);
/* Tcl's reaper is for Unix pids; libuv's handle owns the process here. */
#define TkuvpDetachPid(pid)	((void) (pid))
#define TkuvpReapDetached()	((void) 0)
/* No services database lookup: ports are numbers. */
#define TkuvpServicePort(name, portPtr)	((void) (name), (void) (portPtr), 0)
#define TkuvpSignalStart(uv, cb, signum) uv_signal_start((uv), (cb), (signum))
#define TkuvpSignalStop(uv, signum)	((void) (signum), uv_signal_stop(uv))
MODULE_SCOPE int	TkuvpGuestWaitable(Tcl_Interp *interp,
			    Tcl_WideInt value, TkuvWaitable *waitablePtr);
/* No descriptors 0-2 for libuv to take over. */
#define TkuvpReserveStdFds()	((void) 0)
#define TkuvpCheckStdFds()	((void) 0)
#define TkuvpWatchStdChannels()	((void) 0)

#endif /* TKUV_PORT_H */
