# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# constraints.tcl --
#
#	Sourced by every tkuv test file: loads tkuv from the build directory,
#	defines the shared constraints and helpers. Skipped tests are counted by
#	tcltest, never hidden.

package require tcltest 2.5
namespace import -force ::tcltest::*

if {[info exists env(TKUV_BUILD_DIR)]} {
    set auto_path [linsert $auto_path 0 $env(TKUV_BUILD_DIR)]
}
package require tkuv

# Under `all.tcl -asan` this interpreter got the ASan runtime preloaded; the
# programs tests start (sh, xvfb-run, Xvfb) must not inherit it. Tcl
# interpreters started by tests get it back through tkuvtest::wrapped.
unset -nocomplain env(LD_PRELOAD)

namespace eval ::tkuvtest {
    variable buildDir [expr {[info exists ::env(TKUV_BUILD_DIR)]
	    ? $::env(TKUV_BUILD_DIR) : [pwd]}]
    variable testsDir [file dirname [file normalize [info script]]]
}

testConstraint display [info exists ::tk_version]
testConstraint notDisplay [expr {![info exists ::tk_version]}]
testConstraint unix [expr {$tcl_platform(platform) eq "unix"}]
# What differs between the Tcl versions the suite runs on: a test that
# needs the other one is skipped (and counted under tcl8 or tcl9).
testConstraint tcl8 [expr {![package vsatisfies [info patchlevel] 9-]}]
testConstraint tcl9 [package vsatisfies [info patchlevel] 9-]
# Thread 2.8 for Tcl 8.6, 3.0 for Tcl 9.
testConstraint thread [expr {![catch {package require Thread 2.8-}]}]
# The wish of the Tk that configure found (make test sets TKUV_WISH).
set ::tkuvtest::wish [expr {[info exists env(TKUV_WISH)] ? $env(TKUV_WISH)
	: [lindex [auto_execok wish] 0]}]
testConstraint wish [expr {$::tkuvtest::wish ne ""}]
testConstraint xvfbOrDisplay [expr {[info exists ::env(DISPLAY)]
	|| [auto_execok xvfb-run] ne ""}]
testConstraint poller-epoll [expr {[dict get [tkuv::info] poller] eq "epoll"}]
testConstraint poller-select [expr {[dict get [tkuv::info] poller] eq "select"}]
# The headless examples capture their window with ImageMagick's import (or
# xwd and convert).
testConstraint screenshot [expr {[auto_execok import] ne ""
	|| ([auto_execok xwd] ne "" && [auto_execok convert] ne "")}]
testConstraint notValgrind [expr {![info exists ::env(TKUV_VALGRIND_LOGS)]}]

# tkuvtest::wait varName ?ms? --
#	vwait for a variable under an `after` guard, so a bug fails a test
#	instead of hanging the suite. Returns the variable's value, or
#	"timeout".
proc ::tkuvtest::wait {varName {ms 5000}} {
    upvar #0 $varName var
    set guard [after $ms [list set $varName timeout]]
    vwait $varName
    after cancel $guard
    return $var
}

# tkuvtest::info key -- one field of tkuv::info
proc ::tkuvtest::info {key} {
    dict get [::tkuv::info] $key
}

# tkuvtest::idle ms -- let the event loop run for ms with nothing else to do
proc ::tkuvtest::idle {ms} {
    set ::tkuvtest::idleDone 0
    after $ms {set ::tkuvtest::idleDone 1}
    vwait ::tkuvtest::idleDone
}

# tkuvtest::runScript script ?timeoutMs? ?interp? --
#	Runs script in a fresh interpreter process (tclsh by default) with tkuv
#	on its auto_path. Returns {exitCode output}, or {hang output} if the
#	process did not finish in time (it is then killed).
proc ::tkuvtest::runScript {script {timeoutMs 20000} {interpreter ""}} {
    variable buildDir
    if {$interpreter eq ""} {
	# Under `all.tcl -valgrind` or `-asan` this goes through the same
	# wrapper, so the shutdown paths these scripts exercise are checked too.
	# Scripts run in tclsh, even when this file runs in wish.
	set tclsh [::info nameofexecutable]
	if {[::info exists ::env(TKUV_TCLSH)]} {
	    set tclsh $::env(TKUV_TCLSH)
	}
	set interpreter [wrapped $tclsh]
    }
    set file [::tcltest::makeFile \
	    "set auto_path \[linsert \$auto_path 0 [list $buildDir]\]\n$script" \
	    tkuv-script-[pid]-[incr ::tkuvtest::scriptCount].tcl]
    set chan [open |[list {*}$interpreter $file 2>@1] r]
    fconfigure $chan -blocking 0
    set ::tkuvtest::out($chan) ""
    set ::tkuvtest::done($chan) ""
    fileevent $chan readable [list ::tkuvtest::ReadChild $chan]
    set guard [after $timeoutMs [list set ::tkuvtest::done($chan) hang]]
    vwait ::tkuvtest::done($chan)
    after cancel $guard
    set result $::tkuvtest::done($chan)
    set output $::tkuvtest::out($chan)
    if {$result eq "hang"} {
	catch {exec kill -9 {*}[pid $chan]}
    }
    fconfigure $chan -blocking 1
    if {[catch {close $chan} msg opts]} {
	set code [dict get $opts -errorcode]
	if {[lindex $code 0] eq "CHILDSTATUS" && $result ne "hang"} {
	    set result [lindex $code 2]
	} elseif {[lindex $code 0] eq "CHILDKILLED" && $result ne "hang"} {
	    set result "killed [lindex $code 2]"
	}
    } elseif {$result ne "hang"} {
	set result 0
    }
    unset ::tkuvtest::out($chan) ::tkuvtest::done($chan)
    ::tcltest::removeFile $file
    list $result [string trim $output]
}
proc ::tkuvtest::ReadChild {chan} {
    append ::tkuvtest::out($chan) [read $chan]
    if {[eof $chan]} {
	fileevent $chan readable {}
	set ::tkuvtest::done($chan) eof
    }
}

# tkuvtest::wrapped program -- the command line that runs another Tcl
# interpreter the way this suite runs (under valgrind or ASan when it is).
proc ::tkuvtest::wrapped {program} {
    if {[::info exists ::env(TKUV_WRAPPER)]} {
	return [list env TKUV_INTERP=$program $::env(TKUV_WRAPPER)]
    }
    list $program
}

# tkuvtest::hostsInterp --
#	The command line of a Tcl interpreter (for runScript) that sees its
#	own /etc/hosts, in a private mount namespace, so that names with
#	several addresses can be tested without touching the host's file:
#	localhost is 127.0.0.1 and ::1, multi is 127.0.0.1, 127.0.0.2,
#	127.0.0.3 and ::1 (in that order). "" when this host cannot do that
#	(no unshare, no right to mount): the hostsFile constraint.
proc ::tkuvtest::hostsInterp {} {
    variable hostsInterp
    if {[::info exists hostsInterp]} {
	return $hostsInterp
    }
    set file [::tcltest::makeFile "127.0.0.1 localhost\n::1 localhost\n\
	    127.0.0.1 multi\n127.0.0.2 multi\n127.0.0.3 multi\n::1 multi" \
	    tkuv-hosts-[pid]]
    set tclsh [::info nameofexecutable]
    if {[::info exists ::env(TKUV_TCLSH)]} {
	set tclsh $::env(TKUV_TCLSH)
    }
    set hostsInterp [list unshare -m sh -c \
	    {mount --bind "$0" /etc/hosts && exec "$@"} $file {*}[wrapped $tclsh]]
    if {[catch {exec unshare -m sh -c \
	    {mount --bind "$0" /etc/hosts && exec getent ahosts multi} \
	    $file} out] || ![string match *127.0.0.3* $out]} {
	set hostsInterp ""
    }
    return $hostsInterp
}

# tkuvtest::finish -- end of a test file: report, and leave wish's loop.
proc ::tkuvtest::finish {} {
    ::tcltest::cleanupTests
    if {[::info exists ::tk_version]} {
	exit
    }
}
