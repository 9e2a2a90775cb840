# tkuv.tcl --
#
#	The Tcl-level part of tkuv, sourced by pkgIndex.tcl right after the
#	shared library is loaded.

namespace eval ::tkuv {
    variable sleeping 0		;# counter for sleep's private variables
    variable sleepers		;# token -> {coroutine timer} of a sleep
}

# tkuv::sleep ms --
#
#	Waits ms milliseconds on a tkuv timer without blocking the event loop.
#	Inside a coroutine it yields, and the timer resumes the coroutine (if it
#	still exists); resumed early by anything else, it returns early and its
#	timer is cancelled. Elsewhere it enters the event loop with vwait, like
#	`after ms` would, while Tk and tkuv events keep flowing.

# tkuv::Usage msg -- a {TKUV USAGE msg} error, as the C commands raise.

proc ::tkuv::Usage {msg} {
    return -level 2 -code error -errorcode [list TKUV USAGE $msg] $msg
}

# tkuv::CheckInterp cmd args -- the optional interp argument of install and
# uninstall: at most one, naming an interp that exists.

proc ::tkuv::CheckInterp {cmd arglist} {
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

proc ::tkuv::sleep {args} {
    if {[llength $args] != 1} {
	Usage {wrong # args: should be "tkuv::sleep ms"}
    }
    set ms [lindex $args 0]
    set coro [::info coroutine]
    if {$coro ne ""} {
	# The timer resumes the coroutine through a token, not its name: a
	# trace follows a rename, and a deletion cancels the timer (Tcl 8.6
	# runs no `finally` in a suspended coroutine that is deleted, and a
	# name can be taken by another coroutine meanwhile).
	variable sleeping
	variable sleepers
	set token [incr sleeping]
	set timer [::tkuv::timer after $ms [list ::tkuv::SleepDone $token]]
	set sleepers($token) [list $coro $timer]
	::trace add command $coro {rename delete} [list ::tkuv::SleepTrace $token]
	try {
	    yield
	} finally {
	    ::trace remove command [::info coroutine] {rename delete} \
		    [list ::tkuv::SleepTrace $token]
	    SleepForget $token
	}
	return
    }
    variable sleeping
    set var ::tkuv::Sleep[incr sleeping]
    set $var 0
    ::tkuv::timer after $ms [list ::apply {{var args} {set $var 1}} $var]
    try {
	vwait $var
    } finally {
	unset -nocomplain $var
    }
}

# tkuv::SleepDone token args -- a coroutine's sleep timer fired.
# tkuv::SleepTrace token old new op -- its coroutine was renamed or deleted.
# tkuv::SleepForget token -- the sleep is over: cancel its timer.

proc ::tkuv::SleepDone {token args} {
    variable sleepers
    if {[::info exists sleepers($token)]} {
	[lindex $sleepers($token) 0]
    }
}

proc ::tkuv::SleepTrace {token old new op} {
    variable sleepers
    if {$op eq "rename" && $new ne ""} {
	lset sleepers($token) 0 $new
    } else {
	SleepForget $token
    }
}

proc ::tkuv::SleepForget {token} {
    variable sleepers
    if {[::info exists sleepers($token)]} {
	set timer [lindex $sleepers($token) 1]
	unset sleepers($token)
	if {[::info commands $timer] ne ""} {
	    $timer cancel
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
    set interp [CheckInterp tkuv::install $args]
    if {$interp ne "" && [::interp issafe $interp]} {
	Usage "tkuv::install: \"$interp\" is a safe interp"
    }
    if {$interp ne ""} {
	::tkuv::Load $interp
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
    set interp [CheckInterp tkuv::uninstall $args]
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

# tkuv::Load interp -- load tkuv into another interp of this thread, from
# the same place this one came from.

proc ::tkuv::Load {interp} {
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
