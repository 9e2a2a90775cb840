# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# screenshot.tcl --
#
#	Headless runs of the examples (`-screenshot FILE -seconds N`): after N
#	seconds, capture the main window to FILE and exit. Sourced by
#	demo.tcl and runner.tcl.

namespace eval ::screenshot {}

# screenshot::schedule file seconds --
#	Arranges the capture, and makes background errors fail the run: an
#	error dialog on a headless display would hang it instead.
proc ::screenshot::schedule {file seconds} {
    interp bgerror {} ::screenshot::headlessError
    tkuv::timer after [expr {int($seconds * 1000)}] [list ::screenshot::take $file]
}

proc ::screenshot::headlessError {message options} {
    puts stderr "[file tail $::argv0]: $message"
    puts stderr [dict get $options -errorinfo]
    exit 1
}

proc ::screenshot::take {file args} {
    # Only redraws: `update` here would also run every other event that
    # keeps arriving (the demo's 1 ms timer and ping-pong never leave the
    # queue empty), and would not return until they stopped.
    update idletasks
    tkuv::timer after 150 [list ::screenshot::capture $file]
}

proc ::screenshot::capture {file args} {
    update idletasks
    # The toplevel's outer (wrapper) window: `winfo id .` would miss the
    # border area around the client window.
    set id [wm frame .]
    if {[auto_execok import] ne ""} {
	set cmd [list import -window $id $file]
    } else {
	set cmd [list xwd -silent -id $id | convert xwd:- $file]
    }
    if {[catch {exec {*}$cmd} err]} {
	puts stderr "[file tail $::argv0]: screenshot failed: $err"
	exit 1
    }
    puts "screenshot: [file normalize $file]"
    exit 0
}
