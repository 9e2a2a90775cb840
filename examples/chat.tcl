# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# chat.tcl --
#
#	A Tk chat server and client on tkuv::tcp; a client connects in a
#	coroutine with tkuv::await.
#
#	  wish examples/chat.tcl server ?port?            a server window
#	  wish examples/chat.tcl client host port nick    a client window
#	  wish examples/chat.tcl demo ?-screenshot FILE? ?-seconds N?
#	      a server and two clients in one process, chatting by themselves
#
#	The protocol is one UTF-8 line per message. The server relays every
#	line to every client, prefixed with the sender's nick.

package require Tk
set here [file dirname [file normalize [info script]]]
if {[file exists [file join $here .. pkgIndex.tcl]]} {
    set auto_path [linsert $auto_path 0 [file normalize [file join $here ..]]]
}
package require tkuv

# ----------------------------------------------------------------- lines
# Byte streams arrive in arbitrary chunks: cut them into lines.

proc lines {bufVar bytes} {
    upvar #0 $bufVar buf
    append buf $bytes
    set out {}
    while {[set i [string first \n $buf]] >= 0} {
	lappend out [encoding convertfrom utf-8 [string range $buf 0 $i-1]]
	set buf [string range $buf $i+1 end]
    }
    return $out
}
proc send {conn text} {
    $conn write [encoding convertto utf-8 $text\n]
}

# ---------------------------------------------------------------- server

proc startServer {w port} {
    toplevel $w
    wm title $w "tkuv chat server"
    ttk::label $w.l -text "Chat server: starting..." -font TkHeadingFont
    text $w.log -width 50 -height 9
    pack $w.l -fill x -padx 6 -pady 4
    pack $w.log -fill both -expand 1 -padx 6 -pady 4
    set l [tkuv::tcp listen $port -myaddr 127.0.0.1 -command [list serverEvent $w]]
    set port [lindex [dict get [$l info] local] 1]
    $w.l configure -text "Chat server: listening on 127.0.0.1 port $port"
    return $port
}
proc serverEvent {w h event args} {
    global clients
    switch $event {
	accept {
	    set conn [lindex $args 0]
	    dict set clients $conn [lindex [dict get [$conn info] peer] 1]
	    $w.log insert end "+ client from port [dict get $clients $conn]\n"
	}
	data {
	    foreach line [lines ::buf($h) [lindex $args 0]] {
		$w.log insert end "$line\n"
		$w.log see end
		dict for {conn port} $clients {send $conn $line}
	    }
	}
	eof - error {
	    $w.log insert end "- client [dict get $clients $h] left\n"
	    dict unset clients $h
	    $h close
	}
    }
}
set clients {}

# ---------------------------------------------------------------- client
# Each client window says whose it is (the window manager's title bar is
# not always there to say it, e.g. in a screenshot). It connects in a
# coroutine: tkuv::await returns the connection, or raises the refusal,
# which the window then puts in words.

proc startClient {w host port nick} {
    toplevel $w
    wm title $w "tkuv chat: $nick"
    ttk::frame $w.top
    ttk::label $w.top.who -text $nick -font TkHeadingFont
    ttk::label $w.top.state -text "connecting to $host port $port..."
    text $w.t -width 40 -height 10
    ttk::entry $w.e -state disabled
    pack $w.top.who $w.top.state -side left -padx 6
    pack $w.top -fill x -pady 4
    pack $w.t -fill both -expand 1 -padx 6 -pady 4
    pack $w.e -fill x -padx 6 -pady 4
    bind $w.e <Return> [list postEntry $w $nick]
    coroutine connect$w clientConnect $w $host $port
}
proc clientConnect {w host port} {
    global conns
    try {
	set conn [tkuv::await tkuv::tcp connect $host $port \
		-command [list clientEvent $w]]
    } trap TKUV {msg opts} {
	# errorCode: TKUV code message, e.g. TKUV ECONNREFUSED {connection refused}
	set why [lindex [dict get $opts -errorcode] 2]
	$w.top.state configure -text "not connected"
	$w.t insert end "Could not connect to $host port $port: $why.\n"
	return
    }
    dict set conns $w $conn
    $w.top.state configure -text "connected to $host port $port"
    $w.e configure -state normal
    focus $w.e
}
proc postEntry {w nick} {
    global conns
    if {[dict exists $conns $w]} {
	send [dict get $conns $w] "$nick: [$w.e get]"
	$w.e delete 0 end
    }
}
proc clientEvent {w h event args} {
    global conns
    switch $event {
	data {
	    foreach line [lines ::buf($h) [lindex $args 0]] {
		$w.t insert end "$line\n"
		$w.t see end
	    }
	}
	eof - error {
	    if {$event eq "eof"} {
		$w.t insert end "The server closed the connection.\n"
	    } else {
		$w.t insert end "Connection lost: [lindex $args 0 1].\n"
	    }
	    dict unset conns $w
	    $w.top.state configure -text "not connected"
	    $w.e configure -state disabled
	    $h close
	}
    }
}
set conns {}

# ------------------------------------------------------------------ main

wm withdraw .
set mode [lindex $argv 0]
switch -- $mode {
    server {
	startServer .s [expr {[llength $argv] > 1 ? [lindex $argv 1] : 7777}]
	bind .s <Destroy> exit
    }
    client {
	lassign $argv - host port nick
	startClient .c $host $port $nick
	bind .c <Destroy> exit
    }
    demo {
	set opts [dict merge {-screenshot {} -seconds 3} [lrange $argv 1 end]]
	set port [startServer .s 0]
	startClient .a 127.0.0.1 $port alice
	startClient .b 127.0.0.1 $port bob
	wm geometry .s +0+0
	wm geometry .a +0+250
	wm geometry .b +340+250
	# alice and bob take turns typing a line and pressing Return.
	set n 0
	tkuv::timer every 400 {apply {{t ev} {
	    global n
	    if {[incr n] > 6} {$t cancel; return}
	    lassign [expr {$n % 2 ? {.a alice} : {.b bob}}] w nick
	    $w.e insert end "message $n \u263A"
	    postEntry $w $nick
	}}}
	set shot [dict get $opts -screenshot]
	if {$shot ne ""} {
	    after [expr {int([dict get $opts -seconds] * 1000)}] [list apply {{shot} {
		update
		# The three windows side by side: capture the whole screen area.
		exec import -window root -crop 700x520+0+0 $shot
		puts $shot
		exit 0
	    }} $shot]
	}
    }
    default {
	puts stderr "usage: wish chat.tcl server ?port? | client host port nick | demo ?-screenshot FILE? ?-seconds N?"
	exit 2
    }
}
