# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tkuv.tcl --
#
#	The Tcl-level part of tkuv, sourced by pkgIndex.tcl right after the
#	shared library is loaded.

# The public commands live in ::tkuv; the procs and state behind them live
# in ::tkuv::private, which is no API: names there may change at any time.

namespace eval ::tkuv::private {
    variable sleeping 0		;# counter for vwait-sleep's variables
    variable waits 0		;# counter for wait tokens
    variable waiting		;# token -> dict of a waiting coroutine (WaitBegin)
}

# Usage msg -- a {TKUV USAGE msg} error, as the C commands raise.

proc ::tkuv::private::Usage {msg} {
    return -level 2 -code error -errorcode [list TKUV USAGE $msg] $msg
}

# CheckInterp cmd args -- the optional interp argument of install and
# uninstall: at most one, naming an interp that exists.

proc ::tkuv::private::CheckInterp {cmd arglist} {
    if {[llength $arglist] > 1} {
	return -level 2 -code error -errorcode [list TKUV USAGE \
		"wrong # args: should be \"$cmd ?interp?\""] \
		"wrong # args: should be \"$cmd ?interp?\""
    }
    set interp [lindex $arglist 0]
    if {[llength $arglist] && ![::interp exists $interp]} {
	set msg "$cmd: no interp \"$interp\""
	return -level 2 -code error -errorcode [list TKUV USAGE $msg] $msg
    }
    return $interp
}

# Waiting coroutines --
#
#	tkuv::sleep and tkuv::await suspend the calling coroutine until an event
#	of one tkuv handle (a timer, a request, a connection, a process) wakes
#	it. The event reaches the coroutine through a token, never through its
#	name: a command trace follows a rename of the coroutine, and its
#	deletion ends the wait at once (Tcl 8.6 runs no `finally` in a suspended
#	coroutine that is deleted, and another coroutine may take the name
#	meanwhile). A second trace watches the handle: a handle that goes away
#	without its event (cancelled or closed by someone else) wakes the
#	coroutine rather than leaving it suspended for ever.
#
#	waiting($token) is a dict:
#	    coro	the coroutine (its current name)
#	    handle	the handle awaited ("" until known, or once gone)
#	    cleanup	command prefix, the handle appended, run on the handle
#			when the wait ends: cancel the request or close the
#			connection if its outcome never came, give a process
#			or a connection its own callback back; "" for nothing
#	    result	{ok value} or {error code message} once woken by the
#			handle; "" while waiting (or when resumed by anything
#			else)

# WaitBegin -- the calling coroutine is about to wait; returns its
# token.

proc ::tkuv::private::WaitBegin {} {
    variable waits
    variable waiting
    set token [incr waits]
    set coro [::info coroutine]
    set waiting($token) [dict create coro $coro handle {} cleanup {} \
	    result {}]
    ::trace add command $coro {rename delete} \
	    [list ::tkuv::private::WaitTrace $token coro]
    return $token
}

# WaitOn token handle cleanup -- the wait is for an event of handle;
# cleanup undoes it (see above).

proc ::tkuv::private::WaitOn {token handle cleanup} {
    variable waiting
    dict set waiting($token) handle $handle
    dict set waiting($token) cleanup $cleanup
    ::trace add command $handle {rename delete} \
	    [list ::tkuv::private::WaitTrace $token handle]
}

# Wake token result ?cleanup? -- the handle's event came: record the
# result and what the handle still needs at the end of the wait, and
# resume the coroutine. Nothing if the wait is over.

proc ::tkuv::private::Wake {token result {cleanup {}}} {
    variable waiting
    if {![::info exists waiting($token)]} {
	return
    }
    dict set waiting($token) result $result
    dict set waiting($token) cleanup $cleanup
    [dict get $waiting($token) coro]
}

# WaitTrace token which old new op -- the coroutine (which = coro) or
# the handle (which = handle) was renamed or deleted.

proc ::tkuv::private::WaitTrace {token which old new op} {
    variable waiting
    if {![::info exists waiting($token)]} {
	return
    }
    if {$op eq "rename" && $new ne ""} {
	dict set waiting($token) $which $new
    } elseif {$which eq "coro"} {
	WaitEnd $token
    } else {
	# Gone without its event. Resume later, not from inside whatever is
	# deleting the handle (a close, a thread's or an interp's end).
	dict set waiting($token) handle {}
	dict set waiting($token) cleanup {}
	::after 0 [list ::tkuv::private::Wake $token \
		{error ECANCELED {operation canceled}}]
    }
}

# WaitEnd token -- the wait is over: remove the traces, run the
# cleanup, return the result. Safe to call twice.

proc ::tkuv::private::WaitEnd {token} {
    variable waiting
    if {![::info exists waiting($token)]} {
	return
    }
    set w $waiting($token)
    unset waiting($token)
    foreach which {coro handle} {
	set name [dict get $w $which]
	if {$name ne "" && [::namespace which -command $name] ne ""} {
	    ::trace remove command $name {rename delete} \
		    [list ::tkuv::private::WaitTrace $token $which]
	}
    }
    set handle [dict get $w handle]
    if {[llength [dict get $w cleanup]]
	    && [::namespace which -command $handle] ne ""} {
	{*}[dict get $w cleanup] $handle
    }
    return [dict get $w result]
}

# Cancel handle, Close handle -- cleanups.
# Restore wrapper orig handle -- give the handle its own callback back,
# unless it has been changed since the wait began.

proc ::tkuv::private::Cancel {handle} {
    $handle cancel
}

proc ::tkuv::private::Close {handle} {
    $handle close
}

proc ::tkuv::private::Restore {wrapper orig handle} {
    if {[$handle cget -command] eq $wrapper} {
	$handle configure -command $orig
    }
}

# tkuv::sleep ms --
#
#	Waits ms milliseconds on a tkuv timer without blocking the event loop.
#	Inside a coroutine it yields, and the timer resumes the coroutine (if it
#	still exists); resumed early by anything else, it returns early and its
#	timer is cancelled. Elsewhere it enters the event loop with vwait, like
#	`after ms` would, while Tk and tkuv events keep flowing.

proc ::tkuv::sleep {args} {
    if {[llength $args] != 1} {
	private::Usage {wrong # args: should be "tkuv::sleep ms"}
    }
    set ms [lindex $args 0]
    if {[::info coroutine] ne ""} {
	set token [private::WaitBegin]
	try {
	    set callback [list ::tkuv::private::AwaitEvent $token request]
	    private::WaitOn $token [::tkuv::timer after $ms $callback] \
		    ::tkuv::private::Cancel
	    yield
	} finally {
	    private::WaitEnd $token
	}
	return
    }
    variable private::sleeping
    set var ::tkuv::private::Sleep[incr sleeping]
    set $var 0
    ::tkuv::timer after $ms [list ::apply {{var args} {set $var 1}} $var]
    try {
	vwait $var
    } finally {
	unset -nocomplain $var
    }
}

# tkuv::await command ?arg ...?
# tkuv::await -exit process
#
#	Inside a coroutine: starts a request (tkuv::resolve, tkuv::fs, tkuv::tcp
#	connect) with a callback of its own, or takes over the callback of a
#	running process, and yields until the request's outcome (or the exit)
#	comes. Returns the result; raises a failure as a Tcl error with
#	errorCode {TKUV code message}. A request whose handle goes away first,
#	or a coroutine resumed by anything else, ends in {TKUV ECANCELED ...};
#	a coroutine deleted meanwhile cancels its request.

proc ::tkuv::await {args} {
    set usage {wrong # args: should be "tkuv::await command ?arg ...?" or "tkuv::await -exit process"}
    if {[llength $args] == 0} {
	private::Usage $usage
    }
    if {[::info coroutine] eq ""} {
	private::Usage "tkuv::await: not inside a coroutine"
    }
    set word [lindex $args 0]
    if {$word eq "-exit"} {
	if {[llength $args] != 2} {
	    private::Usage $usage
	}
	return [private::AwaitExit [lindex $args 1]]
    }
    # Each form: what its error messages name, and its kind of callback.
    set rest [lrange $args 1 end]
    set cmd [uplevel 1 [list ::namespace which -command $word]]
    switch -- $cmd {
	::tkuv::resolve {
	    if {[lindex $rest 0] eq "-reverse"} {
		set what "resolve -reverse \"[lindex $rest 1]\""
		set words 2
	    } else {
		set what "resolve \"[lindex $rest 0]\""
		set words 1
	    }
	    set kind request
	}
	::tkuv::fs {
	    set what "fs [lindex $rest 0] \"[lindex $rest 1]\""
	    set words [expr {[lindex $rest 0] in {write append} ? 3 : 2}]
	    set kind request
	}
	::tkuv::tcp {
	    if {[lindex $rest 0] ne "connect"} {
		private::Usage "tkuv::await: can't await\
			\"tkuv::tcp [lindex $rest 0]\": only tkuv::tcp connect"
	    }
	    lassign $rest - host port
	    set what "connect \"$host\" $port"
	    set words 3
	    set kind connect
	}
	::tkuv::spawn {
	    private::Usage "tkuv::await: can't await \"$word\":\
		    use tkuv::await -exit \[tkuv::spawn ...\]"
	}
	"" {
	    # A safe interp has no tkuv::resolve, tkuv::fs or tkuv::tcp.
	    private::Usage "tkuv::await: no command \"$word\" in this interp"
	}
	default {
	    private::Usage "tkuv::await: can't await \"$word\": expected\
		    tkuv::resolve, tkuv::fs, tkuv::tcp connect or -exit"
	}
    }
    # await adds its own -command after the caller's options: check them
    # first, or a missing value would pair with await's own words.
    set options [lrange $rest $words end]
    set orig {}
    if {[llength $options] % 2} {
	set last [lindex $options end]
	if {[string index $last 0] eq "-"} {
	    private::Usage "option \"$last\" has no value"
	}
	private::Usage "tkuv::await: give no command to \"$word\":\
		the coroutine is resumed with the result"
    }
    foreach {opt value} $options {
	if {[string length $opt] >= 2 && [string first $opt -command] == 0} {
	    if {$kind ne "connect"} {
		private::Usage "tkuv::await: give no -command to \"$word\":\
			the coroutine is resumed with the result"
	    }
	    set orig $value
	}
    }
    set token [private::WaitBegin]
    try {
	set callback [list ::tkuv::private::AwaitEvent $token $kind]
	if {$kind eq "connect"} {
	    # The connection's own -command, if any, takes over once it is up.
	    lappend callback $orig
	    set handle [$cmd {*}$rest -command $callback]
	    private::WaitOn $token $handle ::tkuv::private::Close
	} else {
	    private::WaitOn $token [$cmd {*}$rest -command $callback] \
		    ::tkuv::private::Cancel
	}
	yield
    } finally {
	set result [private::WaitEnd $token]
    }
    private::AwaitResult $what $result
}

# AwaitExit process -- tkuv::await -exit: the process's callback is
# wrapped for the time of the wait; every event still reaches it.

proc ::tkuv::private::AwaitExit {process} {
    set what "exit of \"$process\""
    if {[::namespace which -command $process] eq ""
	    || [catch {dict exists [$process info] pid} isProcess]
	    || !$isProcess} {
	Usage "tkuv::await -exit: \"$process\" is not a process handle"
    }
    set orig [dict get [$process configure] -command]
    set token [WaitBegin]
    try {
	set wrapper [list ::tkuv::private::AwaitEvent $token exit $orig]
	$process configure -command $wrapper
	WaitOn $token $process [list ::tkuv::private::Restore $wrapper $orig]
	yield
    } finally {
	set result [WaitEnd $token]
    }
    AwaitResult $what $result
}

# AwaitResult what result -- the end of an await: return the value or
# raise the error.

proc ::tkuv::private::AwaitResult {what result} {
    set why ""
    switch -- [lindex $result 0] {
	ok {
	    return [lindex $result 1]
	}
	error {
	    lassign $result - code msg
	}
	default {
	    set code ECANCELED
	    set msg "operation canceled"
	    set why " (the coroutine was resumed by something else)"
	}
    }
    return -level 2 -code error -errorcode [list TKUV $code $msg] \
	    "$what: $msg$why"
}

# AwaitEvent token kind ?orig? handle event ?arg ...? --
#	The callback of an awaited handle. request: the one event of a request
#	(or of sleep's one-shot timer); connect: connected or error; exit:
#	every event of the process, passed on to its own callback (orig) too.

proc ::tkuv::private::AwaitEvent {token kind args} {
    switch -- $kind {
	request {
	    lassign $args handle event value
	    if {$event eq "error"} {
		Wake $token [list error {*}$value]
	    } else {
		Wake $token [list ok $value]
	    }
	}
	connect {
	    lassign $args orig handle event value
	    switch -- $event {
		connected {
		    Wake $token [list ok $handle] [list ::tkuv::private::Restore \
			    [list ::tkuv::private::AwaitEvent $token connect $orig] $orig]
		}
		error {
		    Wake $token [list error {*}$value] ::tkuv::private::Close
		}
	    }
	}
	exit {
	    set args [lassign $args orig handle event]
	    try {
		if {[llength $orig]} {
		    uplevel #0 [list {*}$orig $handle $event {*}$args]
		}
	    } finally {
		if {$event eq "exit"} {
		    Wake $token [list ok $args] [list ::tkuv::private::Restore \
			    [list ::tkuv::private::AwaitEvent $token exit $orig] $orig]
		}
	    }
	}
    }
}

# tkuv::install ?interp? --
#
#	Makes `socket` in an interp (this one by default) be tkuv::socket in
#	its compat form (::tkuv::compat::socket: Tcl's errorCodes, -async
#	looking names up at once), so code written for Tcl's sockets (the http
#	package, servers using fileevent) runs on tkuv unchanged. Tcl's own
#	command stays reachable as ::tkuv::tclsocket. Off until called;
#	installing twice is harmless.
#	Another interp gets tkuv loaded first; a safe interp is refused, as its
#	`socket` is hidden on purpose.

proc ::tkuv::install {args} {
    set interp [private::CheckInterp tkuv::install $args]
    if {$interp ne "" && [::interp issafe $interp]} {
	private::Usage "tkuv::install: \"$interp\" is a safe interp"
    }
    if {$interp ne ""} {
	::tkuv::private::Load $interp
	::interp eval $interp ::tkuv::install
	return
    }
    if {[::info commands ::tkuv::tclsocket] ne ""} {
	return
    }
    if {[::info commands ::socket] ne ""} {
	rename ::socket ::tkuv::tclsocket
    }
    ::interp alias {} ::socket {} ::tkuv::compat::socket
    return
}

# tkuv::uninstall ?interp? --
#
#	Gives the interp Tcl's own `socket` back. Channels already open stay
#	as they are.

proc ::tkuv::uninstall {args} {
    set interp [private::CheckInterp tkuv::uninstall $args]
    if {$interp ne ""} {
	if {[::interp eval $interp {::info commands ::tkuv::uninstall}] ne ""} {
	    ::interp eval $interp ::tkuv::uninstall
	}
	return
    }
    if {[::info commands ::tkuv::tclsocket] eq ""} {
	return
    }
    ::interp alias {} ::socket {}
    rename ::tkuv::tclsocket ::socket
    return
}

# Load interp -- load tkuv into another interp of this thread, from
# the same place this one came from.

proc ::tkuv::private::Load {interp} {
    set version [package present tkuv]
    ::interp eval $interp [list package ifneeded tkuv $version \
	    [package ifneeded tkuv $version]]
    ::interp eval $interp [list package require tkuv $version]
}

# TKUV_NOTIFIER=epoll: install the epoll notifier as the package loads (so a
# whole test suite can run with it). Not in safe interps (no tkuv::notifier).
if {[info exists ::env(TKUV_NOTIFIER)] && $::env(TKUV_NOTIFIER) ni {"" stock}
	&& [info commands ::tkuv::notifier] ne ""} {
    ::tkuv::notifier $::env(TKUV_NOTIFIER)
}
