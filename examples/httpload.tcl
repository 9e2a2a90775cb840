# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# httpload.tcl --
#
#	Existing Tcl code on tkuv::socket, unchanged: a tiny HTTP/1.0 server
#	written for Tcl's `socket`, and Tcl's own http package as its client,
#	both running on tkuv after `tkuv::install`. A Tk window shows how many
#	connections are open at once; with the default of 3,000 clients that is
#	more descriptors than Tcl's select() notifier can ever handle.
#
#	  wish examples/httpload.tcl ?-clients N? ?-delay MS?
#	      ?-screenshot FILE -seconds S?
#
#	-delay is how long the server holds each request before it answers
#	(default 1000 ms), so that every client is connected at once.

package require Tk
set here [file dirname [file normalize [info script]]]
if {[file exists [file join $here .. pkgIndex.tcl]]} {
    set auto_path [linsert $auto_path 0 [file normalize [file join $here ..]]]
}
package require tkuv
package require http

array set opt {-clients 3000 -delay 1000 -screenshot "" -seconds 10}
array set opt $argv

# Each connection is a descriptor on each end: make room, as far as the
# hard limit allows.
lassign [tkuv::fdlimit] soft hard
set want [expr {2 * $opt(-clients) + 100}]
if {$soft >= 0 && $soft < $want} {
    tkuv::fdlimit [expr {$hard < 0 || $hard > $want ? $want : $hard}]
}
tkuv::install		;# from here on, `socket` is tkuv::socket

# ----------------------------------------------------------------- server
# Plain Tcl socket code: every request gets its path back, -delay ms later.

set open 0
set peak 0
set served 0
proc accept {chan addr port} {
    incr ::open
    if {$::open > $::peak} {set ::peak $::open}
    fconfigure $chan -blocking 0 -translation {auto crlf}
    fileevent $chan readable [list request $chan]
}
proc request {chan} {
    if {[catch {gets $chan line} n] || ($n < 0 && [eof $chan])} {
	finish $chan
	return
    }
    if {$n < 0} return
    if {$line eq ""} {
	# Answer later, so that every client is connected at once.
	fileevent $chan readable {}
	after $::opt(-delay) [list reply $chan]
    } elseif {![info exists ::path($chan)]} {
	set ::path($chan) [lindex $line 1]
    }
}
proc reply {chan} {
    set body "you asked for $::path($chan)\n"
    # The header lines end in CRLF; the body goes out as it is, so that
    # Content-Length counts the bytes sent (http 2.10 reads exactly that).
    puts -nonewline $chan "HTTP/1.0 200 OK\nContent-Length: [string length $body]\n\n"
    fconfigure $chan -translation {auto binary}
    puts -nonewline $chan $body
    catch {flush $chan}
    incr ::served
    finish $chan
}
proc finish {chan} {
    unset -nocomplain ::path($chan)
    catch {close $chan}
    incr ::open -1
}
set server [socket -server accept -myaddr 127.0.0.1 0]
set port [lindex [fconfigure $server -sockname] 2]

# ----------------------------------------------------------------- clients
# The http package, started all at once; every answer is checked.

set ok 0
set bad 0
proc fetched {i token} {
    if {[http::status $token] eq "ok" && [http::data $token] eq "you asked for /item/$i\n"} {
	incr ::ok
    } else {
	incr ::bad
    }
    http::cleanup $token
}
proc start {} {
    set ::t0 [clock milliseconds]
    for {set i 0} {$i < $::opt(-clients)} {incr i} {
	if {[catch {
	    http::geturl http://127.0.0.1:$::port/item/$i -timeout 60000 \
		    -command [list fetched $i]
	} msg]} {
	    incr ::bad
	}
    }
}

# ----------------------------------------------------------------- window

wm title . "tkuv: Tcl's http package on tkuv::socket"
foreach {var label} {
    opt(-clients) "http::geturl started" open "connections open now"
    peak "most open at once" served "requests served" ok "answers checked"
    bad "failures"
} {
    set row [frame .r[incr rows]]
    label $row.l -text $label -width 22 -anchor w
    label $row.v -textvariable $var -width 8 -anchor e -font TkFixedFont
    pack $row.l $row.v -side left
    pack $row -fill x -padx 10
}
label .note -justify left -wraplength 380 -text "Tcl's select() notifier stops at\
	1,024 descriptors; these connections never go through it."
pack .note -padx 10 -pady 8
button .again -text "Run again" -command start
pack .again -pady 4

if {$opt(-screenshot) ne ""} {
    source [file join $here screenshot.tcl]
    screenshot::schedule $opt(-screenshot) $opt(-seconds)
}
after idle start
