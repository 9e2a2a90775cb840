dnl Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
dnl
dnl tkuv.m4 -- tkuv's own configure macros: what Tcl's tcl8.6.m4 does not
dnl cover (libuv, the poller choice, wish, the install directory).

dnl TKUV_PATH_LIBUV: --with-libuv=DIR (DIR/include, DIR/lib) or pkg-config.
dnl Sets LIBUV_CFLAGS, LIBUV_LIBS.
AC_DEFUN([TKUV_PATH_LIBUV], [
    AC_ARG_WITH([libuv],
	AS_HELP_STRING([--with-libuv=DIR],
	    [libuv installation prefix (default: found with pkg-config)]),
	[with_libuv=$withval], [with_libuv=pkg-config])
    AC_MSG_CHECKING([for libuv])
    if test "x$with_libuv" = xpkg-config -o "x$with_libuv" = xyes; then
	if pkg-config --exists 'libuv >= 1.40' 2>/dev/null; then
	    LIBUV_CFLAGS=`pkg-config --cflags libuv`
	    LIBUV_LIBS=`pkg-config --libs libuv`
	    tkuv_uv_version=`pkg-config --modversion libuv`
	    AC_MSG_RESULT([$tkuv_uv_version (pkg-config)])
	else
	    AC_MSG_ERROR([libuv >= 1.40 not found by pkg-config; install libuv1-dev or use --with-libuv=DIR])
	fi
    else
	if test ! -f "$with_libuv/include/uv.h"; then
	    AC_MSG_ERROR([--with-libuv=$with_libuv: no include/uv.h there])
	fi
	LIBUV_CFLAGS="-I$with_libuv/include"
	LIBUV_LIBS="-L$with_libuv/lib -luv"
	AC_MSG_RESULT([$with_libuv])
    fi
    AC_SUBST(LIBUV_CFLAGS)
    AC_SUBST(LIBUV_LIBS)
])

dnl TKUV_WITH_POLLER: --with-poller=epoll|select|iocp, default by host.
dnl Sets TKUV_POLLER (name) and TKUV_POLLER_OBJ (object file).
AC_DEFUN([TKUV_WITH_POLLER], [
    AC_REQUIRE([AC_CANONICAL_HOST])
    case "$host_os" in
	linux*) tkuv_default_poller=epoll ;;
	mingw*|cygwin*|msys*) tkuv_default_poller=iocp ;;
	*) tkuv_default_poller=select ;;
    esac
    AC_ARG_WITH([poller],
	AS_HELP_STRING([--with-poller=epoll|select|iocp],
	    [how the poll thread waits on libuv's backend (default: by host)]),
	[TKUV_POLLER=$withval], [TKUV_POLLER=$tkuv_default_poller])
    AC_MSG_CHECKING([for the poller])
    case "$TKUV_POLLER:$host_os" in
	epoll:linux*|select:*|iocp:mingw*|iocp:cygwin*|iocp:msys*) ;;
	epoll:*|iocp:*)
	    AC_MSG_ERROR([--with-poller=$TKUV_POLLER does not exist on $host_os: use $tkuv_default_poller (or select)]) ;;
    esac
    case "$TKUV_POLLER" in
	epoll)  TKUV_POLLER_OBJ=tkuvEpoll.o ;;
	select) TKUV_POLLER_OBJ=tkuvSelect.o ;;
	iocp)   TKUV_POLLER_OBJ=tkuvIocp.o ;;
	*) AC_MSG_ERROR([--with-poller=$TKUV_POLLER: expected epoll, select or iocp]) ;;
    esac
    AC_MSG_RESULT([$TKUV_POLLER])
    AC_SUBST(TKUV_POLLER)
    AC_SUBST(TKUV_POLLER_OBJ)
])

dnl TKUV_CONFIG_PLATFORM: the platform layer's directory (unix or win: its
dnl tkuvPort.h is found on the include path) and objects. Sets TKUV_PLATFORM
dnl and TKUV_PLATFORM_OBJS.
AC_DEFUN([TKUV_CONFIG_PLATFORM], [
    AC_REQUIRE([AC_CANONICAL_HOST])
    AC_MSG_CHECKING([for the platform layer])
    case "$host_os" in
	mingw*|msys*)
	    TKUV_PLATFORM=win
	    TKUV_PLATFORM_OBJS=tkuvWinPort.o ;;
	*)
	    TKUV_PLATFORM=unix
	    TKUV_PLATFORM_OBJS="tkuvUnixPort.o tkuvUnixLimit.o" ;;
    esac
    AC_MSG_RESULT([$TKUV_PLATFORM])
    AC_SUBST(TKUV_PLATFORM)
    AC_SUBST(TKUV_PLATFORM_OBJS)
])

dnl TKUV_FIND_SHELL(VAR, NAME, VERSION, DIRS): the tclsh or wish of the Tcl
dnl or Tk that configure found (--with-tcl, --with-tk), not the first one on
dnl PATH: NAMEVERSION or NAME in the first of DIRS (that Tcl's or Tk's
dnl prefixes) that holds one, else NAMEVERSION on PATH, else empty. A VAR
dnl given in the environment wins.
AC_DEFUN([TKUV_FIND_SHELL], [
    AC_ARG_VAR([$1], [the $2 to run the tests with])
    AC_MSG_CHECKING([for $2 $3])
    if test -z "$$1"; then
	for tkuv_dir in $4; do
	    for tkuv_name in $2$3 $2; do
		if test -f "$tkuv_dir/$tkuv_name" -a -x "$tkuv_dir/$tkuv_name"; then
		    $1=`cd "$tkuv_dir" && pwd`/$tkuv_name
		    break 2
		fi
	    done
	done
    fi
    if test -z "$$1"; then
	$1=`command -v $2$3 2>/dev/null`
    fi
    AC_MSG_RESULT([${$1:-none}])
    AC_SUBST($1)
])

dnl TKUV_PROG_TCLSH: the tclsh to run the tests with.
AC_DEFUN([TKUV_PROG_TCLSH], [
    TKUV_FIND_SHELL([TCLSH_PROG], [tclsh], [${TCL_VERSION}],
	["${TCL_EXEC_PREFIX}/bin" "${TCL_PREFIX}/bin" "${TCL_BIN_DIR}"])
])

dnl TKUV_PROG_WISH: the wish to run the Tk tests with (optional).
AC_DEFUN([TKUV_PROG_WISH], [
    TKUV_FIND_SHELL([WISH_PROG], [wish], [${TK_VERSION}],
	["${TK_EXEC_PREFIX}/bin" "${TK_PREFIX}/bin" "${TK_BIN_DIR}"])
])

dnl TKUV_LIB_FILE: the library's name, libtkuvVERSION.so for Tcl 8 and
dnl libtcl9tkuvVERSION.so for Tcl 9 (as TEA names them), so both builds can
dnl be installed in one directory; pkgIndex.tcl loads the one that fits.
AC_DEFUN([TKUV_LIB_FILE], [
    if test "${TCL_MAJOR_VERSION}" -ge 9; then
	TKUV_LIB_PREFIX=tcl9
    else
	TKUV_LIB_PREFIX=
    fi
    AC_SUBST(TKUV_LIB_PREFIX)
])

dnl TKUV_CONFIG_PKGDIR: where `make install` puts the package. The default is a
dnl directory on Tcl's package path (TCL_PACKAGE_PATH) under the prefix, so
dnl tclsh, wish and tkinter find it with no environment variable: LIBDIR/tcltk,
dnl or, when LIBDIR is a multiarch directory (Debian: --libdir=/usr/lib/TRIPLET)
dnl and Tcl looks in .../tcltk/TRIPLET, LIBDIR/../tcltk/TRIPLET.
AC_DEFUN([TKUV_CONFIG_PKGDIR], [
    AC_ARG_WITH([pkgdir],
	AS_HELP_STRING([--with-pkgdir=DIR],
	    [install the package into DIR (default: LIBDIR/tcltk/tkuvVERSION, or
	     LIBDIR/../tcltk/TRIPLET/tkuvVERSION for a multiarch LIBDIR)]),
	[TKUV_PKG_DIR=$withval],
	[TKUV_PKG_DIR='$(libdir)/tcltk/$(PACKAGE_NAME)$(PACKAGE_VERSION)'
	 tkuv_libsub=`echo "$libdir" | sed 's|.*/||'`
	 for tkuv_p in $TCL_PACKAGE_PATH; do
	    case "$tkuv_p" in
		*/tcltk/"$tkuv_libsub")
		    TKUV_PKG_DIR="`echo "$libdir" | sed 's|/[[^/]]*$||'`/tcltk/$tkuv_libsub"'/$(PACKAGE_NAME)$(PACKAGE_VERSION)'
		    break ;;
	    esac
	 done])
    AC_MSG_CHECKING([where to install the package])
    AC_MSG_RESULT([$TKUV_PKG_DIR])
    AC_SUBST(TKUV_PKG_DIR)
])

dnl TKUV_CONFIG_PYTHON: the python3 whose package directory `make install`
dnl uses for the Python package (TKUV_PYTHON; default /usr/bin/python3, the
dnl system's, else python3 on PATH) and that directory (TKUV_PYTHON_DIR;
dnl default empty: chosen from $(prefix) at install time by
dnl tools/python-dir.py; "no": the Python package is not installed).
AC_DEFUN([TKUV_CONFIG_PYTHON], [
    AC_ARG_WITH([python],
	AS_HELP_STRING([--with-python=PROG],
	    [python3 for make install's Python package directory
	     (default: /usr/bin/python3, else python3 on PATH; no: do not
	     install the Python package unless --with-python-dir says where)]),
	[TKUV_PYTHON=$withval], [TKUV_PYTHON=])
    if test "$TKUV_PYTHON" = no; then
	TKUV_PYTHON=
    elif test -z "$TKUV_PYTHON"; then
	if test -x /usr/bin/python3; then
	    TKUV_PYTHON=/usr/bin/python3
	else
	    AC_PATH_PROG([TKUV_PYTHON], [python3], [])
	fi
    fi
    AC_ARG_WITH([python-dir],
	AS_HELP_STRING([--with-python-dir=DIR],
	    [install the Python package into DIR (default: where python3
	     looks under PREFIX, e.g. /usr/lib/python3/dist-packages on
	     Debian for /usr; no: not installed)]),
	[TKUV_PYTHON_DIR=$withval], [TKUV_PYTHON_DIR=])
    AC_SUBST(TKUV_PYTHON)
    AC_SUBST(TKUV_PYTHON_DIR)
])
