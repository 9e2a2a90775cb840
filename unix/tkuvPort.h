/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tkuvPort.h (Unix) --
 *
 *	The platform layer, Unix side. generic/ holds no platform test: what
 *	differs between Unix and Windows is named here, with the same names in
 *	win/tkuvPort.h, and the build puts this directory on the include path
 *	(Makefile.in: PLATFORM). Functions are Tkuvp*; capabilities TKUVP_*.
 *	Implementations: unix/tkuvUnixPort.c, unix/tkuvUnixLimit.c.
 */

#ifndef TKUV_PORT_H
#define TKUV_PORT_H

#include <tcl.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MODULE_SCOPE
#define MODULE_SCOPE extern
#endif

/* What the pump and pollers wait on: the loop's backend fd (epoll, kqueue). */
typedef int TkuvWaitable;
#define TkuvpLoopWaitable(loop)	uv_backend_fd(loop)
#define TkuvpWaitableFd(w)	(w)	/* For Tcl's notifier. */

/*
 * Capabilities.
 *
 * TKUVP_SYNC_READS: libuv reads synchronously (alloc, fill, read callback,
 *	one at a time), so one buffer per thread serves every stream.
 * TKUVP_FD_SOCKETS: a socket is a descriptor that can be dup'ed, polled,
 *	written directly and handed to another thread's loop.
 * TKUVP_FILE_HANDLERS: Tcl's notifier can wait on a descriptor
 *	(Tcl_CreateFileHandler), so the pump has a notifier mode.
 * TKUVP_POLLED_FILES: FIFOs and devices can be read through uv_poll.
 * TKUVP_GUEST_IOCP: a guest loop's waitable is an IOCP (-iocp), not an fd.
 * TKUVP_WATCH_RECURSIVE: libuv watches subdirectories itself.
 */
#define TKUVP_SYNC_READS	1
#define TKUVP_FD_SOCKETS	1
#define TKUVP_FILE_HANDLERS	1
#define TKUVP_POLLED_FILES	1
#define TKUVP_GUEST_IOCP	0
#if defined(__APPLE__)
#define TKUVP_WATCH_RECURSIVE	1
#else
#define TKUVP_WATCH_RECURSIVE	0
#endif

/* getsockopt's length and socket argument. */
typedef socklen_t TkuvpSockLen;
#define TkuvpSocket(fd)		(fd)

/*
 * Strings for libuv: "native" is the system encoding here (UTF-8 on
 * Windows). TkuvpNativeEncoding is NULL (the system encoding); on Windows
 * it is a reference the caller frees.
 */
#define TkuvpNativeEncoding()	((Tcl_Encoding) NULL)
#define TkuvpUtfToNative(utf, dsPtr) \
	((void) Tcl_UtfToExternalDString(NULL, (utf), -1, (dsPtr)))
#define TkuvpNativeToUtf(native, dsPtr) \
	((void) Tcl_ExternalToUtfDString(NULL, (native), -1, (dsPtr)))
MODULE_SCOPE void	TkuvpFsPath(Tcl_Obj *pathObj, const char *native,
			    Tcl_DString *dsPtr);

/* libuv errors are -errno on Unix. */
#define TkuvpErrno(uvErr)	(-(uvErr))

MODULE_SCOPE int	TkuvpInputWaiting(uv_os_fd_t fd);
MODULE_SCOPE void	TkuvpDetachPid(int pid);
#define TkuvpReapDetached()	Tcl_ReapDetachedProcs()
MODULE_SCOPE int	TkuvpServicePort(const char *name, int *portPtr);
MODULE_SCOPE int	TkuvpSignalStart(uv_signal_t *uv, uv_signal_cb cb,
			    int signum);
MODULE_SCOPE void	TkuvpSignalStop(uv_signal_t *uv, int signum);
MODULE_SCOPE int	TkuvpGuestWaitable(Tcl_Interp *interp,
			    Tcl_WideInt value, TkuvWaitable *waitablePtr);
MODULE_SCOPE void	TkuvpReserveStdFds(void);
MODULE_SCOPE void	TkuvpCheckStdFds(void);
MODULE_SCOPE void	TkuvpWatchStdChannels(void);

#endif /* TKUV_PORT_H */
