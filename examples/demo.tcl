#!/usr/bin/env wish
# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# demo.tcl --
#
#	A live look at tkuv: libuv timers driving a Tk window, and the
#	bridge's own counters (tkuv::info) as they move.
#
#	    wish examples/demo.tcl ?-screenshot FILE? ?-seconds N?
#
#	With -screenshot the demo saves a PNG of its own window after N
#	seconds (default 3) and exits 0; tools/demo.sh uses this under Xvfb.
#	Everything that moves is driven by tkuv timers, never by `after`, so
#	the window is a visible test of the bridge.

package require Tk 8.6-

# Prefer the build tree this script lives in (`make` leaves pkgIndex.tcl at
# the repo root), so the demo runs straight after a build, no install.
set demoRoot [file dirname [file dirname [file normalize [info script]]]]
if {[file exists [file join $demoRoot pkgIndex.tcl]]} {
    set auto_path [linsert $auto_path 0 $demoRoot]
}
package require tkuv

namespace eval demo {
    variable opt			;# command-line options
    variable row			;# per-timer state, keyed NAME,field
    variable timers {}			;# names of the rows, in display order
    variable fast ""			;# the 1 ms timer's handle, when running
    variable info			;# last tkuv::info, for the labels
    variable history {}			;# ticks/s samples for the sparkline
    variable last			;# previous {ms ticks wakeups} sample
    variable t0 [clock milliseconds]
}

proc demo::usage {} {
    puts stderr "usage: wish [info script] ?-screenshot FILE? ?-seconds N?"
    exit 2
}

proc demo::parseArgs {argv} {
    variable opt
    array set opt {-screenshot "" -seconds 3}
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
}

# ---------------------------------------------------------------------------
# Timers: each row counts its fires and measures the real intervals.
# ---------------------------------------------------------------------------

proc demo::addTimerRow {parent name label} {
    variable row
    variable timers
    lappend timers $name
    set r [expr {[llength $timers] + 1}]
    array set row [list $name,fires 0 $name,first 0 $name,prev 0 \
	    $name,gap "" $name,on 0]
    ttk::label $parent.name$r -text $label
    ttk::label $parent.fires$r -style Value.TLabel -anchor e -width 8
    ttk::label $parent.mean$r -style Value.TLabel -anchor e -width 11
    ttk::label $parent.gap$r -style Value.TLabel -anchor e -width 11
    canvas $parent.led$r -width 14 -height 14 -highlightthickness 0 \
	    -background [ttk::style lookup TFrame -background]
    $parent.led$r create oval 2 2 12 12 -fill grey80 -outline grey50 -tags led
    grid $parent.name$r $parent.fires$r $parent.mean$r $parent.gap$r \
	    $parent.led$r -sticky ew -padx 6 -pady 2
    set row($name,widgets) [list $parent.fires$r $parent.mean$r \
	    $parent.gap$r $parent.led$r]
}

# Callback of every row's timer: {*}CMD $handle fire. Only bookkeeping
# here; the labels are refreshed a few times per second, which is plenty
# for the eye and keeps a 1 ms timer cheap.
proc demo::fired {name ms handle event} {
    variable row
    set now [clock microseconds]
    if {[incr row($name,fires)] == 1} {
	set row($name,first) $now
    } else {
	set row($name,gap) [expr {($now - $row($name,prev)) / 1000.0}]
    }
    set row($name,prev) $now
    # Blink the LED about twice a second whatever the rate.
    if {$row($name,fires) % max(1, 250 / $ms) == 0} {
	set row($name,on) [expr {!$row($name,on)}]
    }
}

proc demo::showTimers {} {
    variable row
    variable timers
    foreach name $timers {
	lassign $row($name,widgets) fires mean gap led
	set n $row($name,fires)
	$fires configure -text $n
	if {$n > 1} {
	    set avg [expr {($row($name,prev) - $row($name,first)) \
		    / 1000.0 / ($n - 1)}]
	    $mean configure -text [format "%.2f ms" $avg]
	    $gap configure -text [format "%.2f ms" $row($name,gap)]
	} else {
	    $mean configure -text "—"
	    $gap configure -text "—"
	}
	$led itemconfigure led -fill [expr {$row($name,on) ? "#2e9d4f" : "grey80"}]
    }
}

proc demo::startFast {} {
    variable fast
    variable row
    if {$fast ne ""} {
	return
    }
    array set row {1ms,fires 0 1ms,first 0 1ms,prev 0 1ms,gap "" 1ms,on 0}
    set fast [tkuv::timer every 1 [list demo::fired 1ms 1]]
    .main.buttons.start state disabled
    .main.buttons.stop state !disabled
}

proc demo::stopFast {} {
    variable fast
    if {$fast eq ""} {
	return
    }
    $fast cancel
    set fast ""
    .main.buttons.start state !disabled
    .main.buttons.stop state disabled
}

# ---------------------------------------------------------------------------
# Canvas: a sweeping hand, one turn every two seconds, redrawn by a 16 ms
# tkuv timer. The angle comes from the clock, so a late fire shows as a
# jump, not as a slower hand.
# ---------------------------------------------------------------------------

proc demo::buildDial {c} {
    set cx 110; set cy 110; set r 90
    $c create oval [expr {$cx-$r}] [expr {$cy-$r}] [expr {$cx+$r}] \
	    [expr {$cy+$r}] -fill white -outline #6b7b8c -width 2
    $c create arc [expr {$cx-$r+6}] [expr {$cy-$r+6}] [expr {$cx+$r-6}] \
	    [expr {$cy+$r-6}] -start 90 -extent 0 -fill #b7d3f0 \
	    -outline "" -tags sweep
    for {set i 0} {$i < 20} {incr i} {
	set a [expr {$i * acos(-1) / 10}]
	set r1 [expr {$i % 5 ? $r - 8 : $r - 16}]
	$c create line [expr {$cx + $r1*sin($a)}] [expr {$cy - $r1*cos($a)}] \
		[expr {$cx + ($r-3)*sin($a)}] [expr {$cy - ($r-3)*cos($a)}] \
		-fill #6b7b8c -width [expr {$i % 5 ? 1 : 3}]
    }
    $c create line $cx $cy $cx [expr {$cy - $r + 12}] -width 4 \
	    -fill #c0392b -capstyle round -tags hand
    $c create oval [expr {$cx-6}] [expr {$cy-6}] [expr {$cx+6}] \
	    [expr {$cy+6}] -fill #c0392b -outline ""
    $c create text $cx [expr {$cy + 35}] -font TkFixedFont -fill #44505c \
	    -tags frames
}

proc demo::animate {args} {
    variable t0
    variable frames
    set c .main.anim.canvas
    set cx 110; set cy 110; set len 78
    set ms [expr {([clock milliseconds] - $t0) % 2000}]
    set a [expr {$ms / 2000.0 * 2 * acos(-1)}]
    $c coords hand $cx $cy [expr {$cx + $len*sin($a)}] \
	    [expr {$cy - $len*cos($a)}]
    $c itemconfigure sweep -extent [expr {-$ms * 360.0 / 2000}]
    $c itemconfigure frames -text "frame [incr frames]"
}

# ---------------------------------------------------------------------------
# Bridge panel: tkuv::info, plus ticks per second drawn as a sparkline.
# ---------------------------------------------------------------------------

proc demo::refresh {args} {
    variable info
    variable last
    variable history
    array set info [tkuv::info]
    set now [clock milliseconds]
    if {[info exists last]} {
	lassign $last ms ticks wakeups
	set dt [expr {max(1, $now - $ms) / 1000.0}]
	set info(tickRate) [format "%.0f /s" [expr {($info(ticks) - $ticks) / $dt}]]
	set info(wakeRate) [format "%.0f /s" [expr {($info(wakeups) - $wakeups) / $dt}]]
	set info(tripRate) [format "%.0f /s" [expr {($info(trips) - [lindex $last 3]) / $dt}]]
	lappend history [expr {($info(ticks) - $ticks) / $dt}]
	set history [lrange $history end-59 end]
    }
    set last [list $now $info(ticks) $info(wakeups) $info(trips)]
    if {$info(timeout) < 0} {
	set info(timeoutText) "∞ (idle)"
    } else {
	set info(timeoutText) "$info(timeout) ms"
    }
    set info(aliveText) [expr {$info(alive) ? "yes" : "no"}]
    drawSparkline
    showTimers
}

proc demo::drawSparkline {} {
    variable history
    set c .main.info.spark
    $c delete all
    set w [winfo width $c]; set h [winfo height $c]
    if {$w < 10} { set w [$c cget -width]; set h [$c cget -height] }
    if {[llength $history] < 2} {
	return
    }
    set max [tcl::mathfunc::max 1 {*}$history]
    set step [expr {($w - 4.0) / 59}]
    set x [expr {$w - 2 - $step * ([llength $history] - 1)}]
    set points {}
    foreach v $history {
	lappend points $x [expr {$h - 3 - ($h - 22) * $v / $max}]
	set x [expr {$x + $step}]
    }
    $c create line {*}$points -fill #2a6fb0 -width 2 -smooth 1
    $c create text 4 2 -anchor nw -font TkSmallCaptionFont -fill #6b7b8c \
	    -text [format "ticks/s, last 6 s (peak %.0f)" $max]
}

# ---------------------------------------------------------------------------
# The window.
# ---------------------------------------------------------------------------

proc demo::buildUi {} {
    variable info
    wm title . "tkuv demo — libuv timers in Tk"
    wm protocol . WM_DELETE_WINDOW demo::quit
    bind . <Escape> demo::quit
    bind . <Control-q> demo::quit
    if {"clam" in [ttk::style theme names]} {
	ttk::style theme use clam
    }
    . configure -background [ttk::style lookup TFrame -background]
    ttk::style configure Title.TLabel -font {TkHeadingFont 16 bold}
    ttk::style configure Sub.TLabel -foreground #5b6b7b
    ttk::style configure Value.TLabel -font TkFixedFont
    ttk::style configure Head.TLabel -font TkHeadingFont -foreground #44505c

    set m [ttk::frame .main -padding 12]
    pack $m -fill both -expand 1

    ttk::frame $m.head
    ttk::label $m.head.title -text "tkuv" -style Title.TLabel
    ttk::label $m.head.sub -style Sub.TLabel -text \
	    "a libuv loop inside Tcl's event loop — every number here moves on tkuv timers"
    pack $m.head.title -side left
    pack $m.head.sub -side left -padx 12 -pady {6 0}
    grid $m.head - -sticky w -pady {0 10}

    # Timers table.
    set t [ttk::labelframe $m.timers -text " tkuv::timer every … " -padding 8]
    set heads {}
    foreach col {Timer Fires "Mean gap" "Last gap" ""} {
	lappend heads [ttk::label $t.h[llength $heads] -text $col -style Head.TLabel]
    }
    grid {*}$heads -sticky ew -padx 6 -pady {0 4}
    grid columnconfigure $t {1 2 3} -weight 1
    addTimerRow $t 10ms "every 10 ms"
    addTimerRow $t 100ms "every 100 ms"
    addTimerRow $t 1s "every 1 s"
    addTimerRow $t 1ms "every 1 ms (button)"

    # Animation.
    set a [ttk::labelframe $m.anim -text " 16 ms timer → canvas " -padding 8]
    canvas $a.canvas -width 220 -height 220 -highlightthickness 0 \
	    -background [ttk::style lookup TFrame -background]
    pack $a.canvas
    buildDial $a.canvas

    # Bridge counters.
    set i [ttk::labelframe $m.info -text " tkuv::info " -padding 8]
    set r 0
    foreach {label key} {
	"tkuv version" version  "libuv" libuv  "poller" poller
	"handles" handles  "loop alive" aliveText  "ticks" ticks
	"ticks rate" tickRate  "wakeups" wakeups  "wakeup rate" wakeRate
	"poll timeout" timeoutText
    } {
	set info($key) "…"
	ttk::label $i.k$r -text $label -style Sub.TLabel
	ttk::label $i.v$r -textvariable demo::info($key) -style Value.TLabel
	grid $i.k$r $i.v$r -sticky w -padx {0 12}
	incr r
    }
    canvas $i.spark -width 230 -height 60 -background white \
	    -highlightthickness 1 -highlightbackground #b8c2cc
    grid $i.spark - -sticky ew -pady {8 0}

    # TCP ping-pong over loopback, both ends tkuv::tcp.
    set n [ttk::labelframe $m.net -text " tkuv::tcp loopback ping-pong " -padding 8]
    set r 0
    foreach {label key} {
	"round trips" trips  "rate" tripRate  "bytes echoed" bytes
    } {
	set info($key) 0
	ttk::label $n.k$r -text $label -style Sub.TLabel
	ttk::label $n.v$r -textvariable demo::info($key) -style Value.TLabel
	grid $n.k$r $n.v$r -sticky w -padx {0 12}
	incr r
    }
    ttk::button $n.go -text "Start ping-pong" -command demo::togglePingPong
    grid $n.go - -sticky w -pady {8 0}

    # Buttons.
    set b [ttk::frame $m.buttons]
    ttk::button $b.start -text "Start 1 ms timer" -command demo::startFast
    ttk::button $b.stop -text "Stop" -command demo::stopFast -state disabled
    ttk::button $b.quit -text "Quit" -command demo::quit
    pack $b.start $b.stop -side left -padx {0 6}
    pack $b.quit -side right

    grid $m.timers $m.info -sticky nsew -padx {0 10} -pady {0 10}
    grid $m.anim $m.net -sticky nsew -padx {0 10} -pady {0 10}
    grid $m.buttons - -sticky ew
    grid configure $m.info $m.net -padx 0
    grid columnconfigure $m 0 -weight 1
    grid rowconfigure $m 2 -weight 1
}

# ---------------------------------------------------------------------------
# TCP ping-pong: a listener that echoes and a client that sends 64 bytes
# again each time its 64 come back.
# ---------------------------------------------------------------------------

proc demo::togglePingPong {} {
    variable ping
    if {[info exists ping(client)]} {
	$ping(client) close
	$ping(listener) close
	unset ping(client) ping(listener)
	.main.net.go configure -text "Start ping-pong"
	return
    }
    set ping(listener) [tkuv::tcp listen 0 -myaddr 127.0.0.1 -command {apply {{h ev args} {
	if {$ev eq "data"} {$h write [lindex $args 0]}
	if {$ev in {eof error}} {$h close}
    }}}]
    set port [lindex [dict get [$ping(listener) info] local] 1]
    set ping(msg) [string repeat x 64]
    set ping(got) 0
    set ping(client) [tkuv::tcp connect 127.0.0.1 $port -nodelay 1 \
	    -command demo::pong]
    $ping(client) write $ping(msg)
    .main.net.go configure -text "Stop ping-pong"
}

proc demo::pong {h event args} {
    variable ping
    variable info
    if {$event ne "data"} {
	return
    }
    set n [string length [lindex $args 0]]
    incr info(bytes) $n
    if {[incr ping(got) $n] >= 64} {
	set ping(got) 0
	incr info(trips)
	$h write $ping(msg)
    }
}

proc demo::quit {} {
    # Cancelling is not required (interp deletion closes every handle), but
    # it shows the API and leaves the loop empty before Tk goes away.
    foreach h [tkuv::timer info] {
	$h cancel
    }
    exit 0
}

# ---------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------

demo::parseArgs $argv
demo::buildUi
tkuv::timer every 10 [list demo::fired 10ms 10]
tkuv::timer every 100 [list demo::fired 100ms 100]
tkuv::timer every 1000 [list demo::fired 1s 1000]
tkuv::timer every 16 demo::animate
tkuv::timer every 100 demo::refresh

if {$demo::opt(-screenshot) ne ""} {
    source [file join [file dirname [info script]] screenshot.tcl]
    # A still picture should show everything running: the 1 ms timer and
    # the TCP ping-pong too.
    demo::startFast
    demo::togglePingPong
    screenshot::schedule $demo::opt(-screenshot) $demo::opt(-seconds)
}
