#!/usr/bin/env wish
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# runner.tcl --
#
#	A small process runner on tkuv::spawn: type a command as a Tcl list
#	(no shell: {ls -l /tmp}, or {sh -c {make 2>&1 | tail}} when you want
#	one), press Run, and watch its stdout and stderr (in red) arrive live
#	while the window stays responsive. Kill sends SIGTERM, a second Kill
#	SIGKILL. A line typed under "stdin" is written to the child; EOF
#	closes its stdin.
#
#	    wish examples/runner.tcl ?-command LIST? ?-screenshot FILE? ?-seconds N?
#
#	With -screenshot the runner starts a demo command (or -command),
#	saves a PNG of its window after N seconds (default 3) and exits 0.

package require Tk 8.6-

# Prefer the build tree this script lives in, so it runs right after `make`.
set runnerRoot [file dirname [file dirname [file normalize [info script]]]]
if {[file exists [file join $runnerRoot pkgIndex.tcl]]} {
    set auto_path [linsert $auto_path 0 $runnerRoot]
}
package require tkuv

namespace eval runner {
    variable opt			;# command-line options
    variable cmdline {}			;# the entry's text
    variable input {}			;# the stdin entry's text
    variable proc ""			;# the running process handle, or ""
    variable started 0			;# [clock milliseconds] at Run
    variable kills 0			;# Kill presses for this process
    variable pending			;# per stream: bytes of a split UTF-8 char
    variable status "Ready."
    variable maxLines 5000		;# older output is dropped
    variable demoCommand {sh -c {echo "Counting to 6, with some errors:"; for i in 1 2 3 4 5 6; do echo "  stdout line $i"; [ $((i % 2)) -eq 0 ] && echo "  stderr line $i: something odd" >&2; sleep 0.2; done; echo "Done; exiting with status 3."; exit 3}}
}

proc runner::usage {} {
    puts stderr "usage: wish [info script] ?-command LIST? ?-screenshot FILE? ?-seconds N?"
    exit 2
}

proc runner::parseArgs {argv} {
    variable opt
    variable cmdline
    variable demoCommand
    array set opt {-command "" -screenshot "" -seconds 3}
    if {[llength $argv] % 2} {
	usage
    }
    foreach {key value} $argv {
	if {![info exists opt($key)]} {
	    usage
	}
	set opt($key) $value
    }
    if {![string is double -strict $opt(-seconds)] || $opt(-seconds) <= 0} {
	usage
    }
    set cmdline [expr {$opt(-command) ne "" ? $opt(-command) : $demoCommand}]
}

# ---------------------------------------------------------------------------
# Window.
# ---------------------------------------------------------------------------

proc runner::buildUi {} {
    wm title . "tkuv process runner"
    wm protocol . WM_DELETE_WINDOW runner::quit
    ttk::style configure Status.TLabel -padding {6 3}

    ttk::frame .top -padding {8 8 8 4}
    ttk::label .top.l -text "Command (a Tcl list):"
    ttk::entry .top.cmd -textvariable runner::cmdline -width 60 \
	    -font TkFixedFont
    ttk::button .top.run -text Run -command runner::run
    ttk::button .top.kill -text Kill -command runner::kill -state disabled
    ttk::button .top.clear -text Clear -command {.out.t delete 1.0 end}
    grid .top.l -row 0 -column 0 -columnspan 4 -sticky w
    grid .top.cmd .top.run .top.kill .top.clear -row 1 -sticky ew -padx {0 4}
    grid columnconfigure .top 0 -weight 1
    bind .top.cmd <Return> runner::run

    ttk::frame .out -padding {8 0}
    text .out.t -width 90 -height 24 -wrap char -font TkFixedFont \
	    -yscrollcommand {.out.sb set} -background white \
	    -highlightthickness 0 -borderwidth 1 -relief sunken
    ttk::scrollbar .out.sb -command {.out.t yview}
    .out.t tag configure stderr -foreground #c62828
    .out.t tag configure note -foreground #1f4e9c -font TkDefaultFont \
	    -spacing1 4 -spacing3 4
    .out.t tag configure failed -foreground #c62828 -font TkDefaultFont \
	    -spacing1 4 -spacing3 4
    .out.t tag configure stdin -foreground #2e7d32
    grid .out.t .out.sb -sticky nsew
    grid columnconfigure .out 0 -weight 1
    grid rowconfigure .out 0 -weight 1

    ttk::frame .in -padding {8 4}
    ttk::label .in.l -text "stdin:"
    ttk::entry .in.e -textvariable runner::input -font TkFixedFont
    ttk::button .in.send -text Send -command runner::send -state disabled
    ttk::button .in.eof -text EOF -command runner::eof -state disabled
    grid .in.l .in.e .in.send .in.eof -sticky ew -padx {0 4}
    grid columnconfigure .in 1 -weight 1
    bind .in.e <Return> runner::send

    ttk::label .status -textvariable runner::status -style Status.TLabel \
	    -relief sunken -anchor w

    grid .top -sticky ew
    grid .out -sticky nsew
    grid .in -sticky ew
    grid .status -sticky ew
    grid columnconfigure . 0 -weight 1
    grid rowconfigure . 1 -weight 1
    focus .top.cmd
}

proc runner::setRunning {running} {
    set on [expr {$running ? "!disabled" : "disabled"}]
    set off [expr {$running ? "disabled" : "!disabled"}]
    .top.run state $off
    .top.kill state $on
    .in.send state $on
    .in.eof state $on
}

# Appends text at the end with a tag, keeping the view at the bottom if it
# was there, and the widget below maxLines.
proc runner::show {text tag} {
    variable maxLines
    set atEnd [expr {[lindex [.out.t yview] 1] >= 0.999}]
    .out.t insert end $text $tag
    set lines [expr {int([.out.t index end]) - 1}]
    if {$lines > $maxLines} {
	.out.t delete 1.0 [expr {$lines - $maxLines + 1}].0
    }
    if {$atEnd} {
	.out.t see end
    }
}

# ---------------------------------------------------------------------------
# The process.
# ---------------------------------------------------------------------------

proc runner::run {} {
    variable cmdline
    variable proc
    variable started
    variable kills
    variable pending
    variable status
    if {$proc ne ""} {
	return
    }
    if {[catch {llength $cmdline} n] || $n == 0} {
	set status "The command must be a non-empty Tcl list, e.g. {ls -l /tmp}."
	return
    }
    show "\$ $cmdline\n" note
    if {[catch {tkuv::spawn $cmdline -command runner::event} p]} {
	show "$p\n" failed
	set status "Could not start: $p"
	return
    }
    set proc $p
    set started [clock milliseconds]
    set kills 0
    array set pending {stdout "" stderr ""}
    setRunning 1
    tick
}

# The process callback: {*}CMD $p event ?args?
proc runner::event {p event args} {
    variable proc
    variable started
    variable status
    switch -- $event {
	stdout - stderr {
	    show [decode $event [lindex $args 0]] \
		    [expr {$event eq "stderr" ? "stderr" : ""}]
	}
	error {
	    lassign [lindex $args 0] code message
	    show "\[$code: $message\]\n" failed
	}
	exit {
	    lassign $args code signal
	    foreach stream {stdout stderr} {
		show [decode $stream "" 1] [expr {$stream eq "stderr" ? "stderr" : ""}]
	    }
	    set secs [format %.2f [expr {([clock milliseconds] - $started) / 1000.0}]]
	    if {$signal ne "0"} {
		set status "Killed by $signal after $secs s (pid [$p pid])."
		show "\[killed by $signal\]\n" failed
	    } elseif {$code == 0} {
		set status "Exited with status 0 after $secs s (pid [$p pid])."
		show "\[exit 0\]\n" note
	    } else {
		set status "Exited with status $code after $secs s (pid [$p pid])."
		show "\[exit $code\]\n" failed
	    }
	    # The handle closes itself after this event.
	    set proc ""
	    setRunning 0
	}
    }
}

# Output arrives in chunks that may split a UTF-8 character: decode what is
# complete, keep the rest for the next chunk (or flush it at the end).
proc runner::decode {stream bytes {flush 0}} {
    variable pending
    set data $pending($stream)$bytes
    set keep 0
    if {!$flush} {
	# Look back at most 3 bytes for the lead byte of a cut sequence.
	set n [string length $data]
	for {set i 1} {$i <= 3 && $i <= $n} {incr i} {
	    binary scan [string index $data end-[expr {$i - 1}]] cu b
	    if {$b < 0x80} break
	    if {$b >= 0xC0} {
		set need [expr {$b >= 0xF0 ? 4 : $b >= 0xE0 ? 3 : 2}]
		if {$need > $i} {set keep $i}
		break
	    }
	}
    }
    set pending($stream) [string range $data end-[expr {$keep - 1}] end]
    if {$keep == 0} {set pending($stream) ""}
    encoding convertfrom utf-8 [string range $data 0 end-$keep]
}

proc runner::kill {} {
    variable proc
    variable kills
    variable status
    if {$proc eq ""} {
	return
    }
    set sig [expr {[incr kills] == 1 ? "TERM" : "KILL"}]
    if {[catch {$proc kill $sig} err]} {
	set status "kill: $err"
    } else {
	set status "Sent SIG$sig to pid [$proc pid]..."
    }
}

proc runner::send {} {
    variable proc
    variable input
    if {$proc eq "" || [dict get [$proc info] stdin] ne "open"} {
	return
    }
    $proc write [encoding convertto utf-8 "$input\n"]
    show "$input\n" stdin
    set input ""
}

proc runner::eof {} {
    variable proc
    if {$proc ne ""} {
	$proc closestdin
	.in.send state disabled
	.in.eof state disabled
    }
}

# The status line's clock while a process runs, on a tkuv timer.
proc runner::tick {args} {
    variable proc
    variable started
    variable status
    if {$proc eq ""} {
	return
    }
    if {![string match Sent* $status]} {
	set status [format "Running, pid %d, %.1f s" [$proc pid] \
		[expr {([clock milliseconds] - $started) / 1000.0}]]
    }
    tkuv::timer after 100 runner::tick
}

proc runner::quit {} {
    variable proc
    if {$proc ne ""} {
	# Closing terminates a running child (SIGTERM) and still reaps it.
	$proc close
    }
    exit 0
}

# ---------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------

runner::parseArgs $argv
runner::buildUi
if {$runner::opt(-screenshot) ne ""} {
    source [file join [file dirname [info script]] screenshot.tcl]
    wm geometry . 760x520
    runner::run
    screenshot::schedule $runner::opt(-screenshot) $runner::opt(-seconds)
}
