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
#	Inside a coroutine it yields, and the coroutine is resumed by the timer;
#	elsewhere it enters the event loop with vwait, like `after ms` would,
#	but keeps Tk and tkuv events flowing.

proc ::tkuv::sleep {ms} {
    set coro [::info coroutine]
    if {$coro ne ""} {
	::tkuv::timer after $ms [list ::apply {{coro args} {$coro}} $coro]
	yield
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
