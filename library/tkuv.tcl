# tkuv.tcl --
#
#	The Tcl-level part of tkuv, sourced by pkgIndex.tcl right after the
#	shared library is loaded.

namespace eval ::tkuv {
    variable sleeping 0		;# counter for sleep's private variables
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
	set msg {wrong # args: should be "tkuv::sleep ms"}
	return -code error -errorcode [list TKUV USAGE $msg] $msg
    }
    set ms [lindex $args 0]
    set coro [::info coroutine]
    if {$coro ne ""} {
	set timer [::tkuv::timer after $ms [list ::apply {{coro args} {
	    if {[::info commands $coro] ne ""} {
		$coro
	    }
	}} $coro]]
	try {
	    yield
	} finally {
	    if {[::info commands $timer] ne ""} {
		$timer cancel
	    }
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
