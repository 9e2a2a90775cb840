# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# notifier-cs.tcl -- context switches per round trip of Tcl's own socket,
# with Tcl's stock notifier and with tkuv's epoll notifier.
#
#   tclsh bench/notifier-cs.tcl PORT ?N?     (wish too)
#
# PORT is an echo server's (bench/echosrv). For each notifier: N round
# trips of 64 bytes over one socket, driven by fileevent; counts the
# voluntary context switches of every thread of this process
# (/proc/self/task/*/status) and prints them per round trip.

lassign $argv port n
if {$n eq ""} {set n 5000}
package require tkuv
if {[info commands tk] ne ""} {
    pack [label .l -text "notifier-cs"]
    update
}

proc switches {} {
    set total 0
    foreach f [glob -nocomplain /proc/self/task/*/status] {
	if {[catch {open $f} ch]} continue
	foreach line [split [read $ch] \n] {
	    if {[scan $line "voluntary_ctxt_switches: %d" v] == 1} {
		incr total $v
	    }
	}
	close $ch
    }
    return $total
}

proc pingPong {s n} {
    set msg [string repeat x 63]
    set ::left $n
    fileevent $s readable [list apply {{s msg} {
	if {[gets $s line] < 0} {
	    if {[eof $s]} {set ::left eof}
	    return
	}
	if {[incr ::left -1] > 0} {
	    puts $s $msg
	} else {
	    set ::done 1
	}
    }} $s $msg]
    puts $s $msg
    set guard [after 60000 {set ::done timeout}]
    vwait ::done
    after cancel $guard
    fileevent $s readable {}
}

foreach notifier {stock epoll stock epoll} {
    tkuv::notifier $notifier
    set s [socket 127.0.0.1 $port]
    fconfigure $s -buffering line -blocking 0
    pingPong $s 200			;# warm up
    set before [switches]
    set t0 [clock microseconds]
    pingPong $s $n
    set us [expr {[clock microseconds] - $t0}]
    set cs [expr {[switches] - $before}]
    close $s
    puts [format "%-6s %d round trips: %.2f voluntary switches per round trip, %.1f us per round trip, threads %d" \
	    $notifier $n [expr {double($cs) / $n}] [expr {double($us) / $n}] \
	    [llength [glob /proc/self/task/*]]]
}
tkuv::notifier stock
exit
