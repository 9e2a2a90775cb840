# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# tsan-stress.tcl --
#
#	Thread stress for `make test-tsan` (tcltest format; it is not a *.test
#	file, so the ordinary suites do not run it): several Thread-package
#	threads with loops of their own, woken from other threads through their
#	guests' fds and through thread::send, torn down while their poll threads
#	are blocked, with interps created and deleted under live handles, and
#	process exit while all of that runs. Under ThreadSanitizer any data race
#	between a poll thread, its owner and the other threads is reported;
#	the results here only check that everything finished.
#	  make test-tsan                      (this file and the suites)
#	  make test TESTFLAGS='-file tsan-stress.tcl'   (without TSan)

source [file join [file dirname [info script]] constraints.tcl]

# The script every worker thread starts with: tkuv from the build tree, a
# guest on a pipe whose write end another thread holds, and a fast timer.
set workerInit [format {
    set auto_path %s
    package require tkuv
    set ::ticks 0
    set ::fires 0
    set ::drained 0
    proc onTick {g event} {
	incr ::ticks
	if {[info exists ::r]} {
	    incr ::drained [string length [read $::r]]
	}
	return -1
    }
    # startGuest chan -- watch the read end of a pipe handed to this thread
    proc startGuest {chan} {
	set ::r $chan
	fconfigure $::r -blocking 0 -translation binary
	set ::g [tkuv::guest create -fd [string range $::r 4 end] \
		-command onTick]
    }
    tkuv::timer every 1 {apply {args {incr ::fires}}}
} [list $auto_path]]

# waitFor script ms -- re-evaluate script every 5 ms until it is true or ms
# have passed; returns its last value.
proc waitFor {script {ms 20000}} {
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![set ok [uplevel 1 [list expr $script]]]
	    && [clock milliseconds] < $deadline} {
	tkuvtest::idle 5
    }
    return $ok
}

test tsan-1.1 {guests in four threads woken by writes and sends from the main thread} -constraints {
    thread
} -body {
    set tids {}
    set writers {}
    for {set i 0} {$i < 4} {incr i} {
	set tid [thread::create -joinable "$workerInit; thread::wait"]
	lassign [chan pipe] r w
	fconfigure $w -blocking 1 -buffering none -translation binary
	thread::transfer $tid $r
	thread::send $tid [list startGuest $r]
	lappend tids $tid
	lappend writers $w
    }
    # Writes wake each guest's poll thread from this thread; wakes sent
    # as thread events make the owners call `wake` while their poll
    # threads may be returning.
    for {set round 0} {$round < 200} {incr round} {
	foreach tid $tids w $writers {
	    puts -nonewline $w x
	    thread::send -async $tid {$::g wake}
	}
	if {$round % 20 == 0} {
	    tkuvtest::idle 1
	}
    }
    set ok 1
    foreach tid $tids {
	set n [thread::send $tid {
	    set deadline [expr {[clock milliseconds] + 20000}]
	    while {$::drained < 200 && [clock milliseconds] < $deadline} {
		after 5 {set ::poke 1}
		vwait ::poke
	    }
	    list $::drained [expr {$::ticks > 1}] [expr {$::fires > 0}]
	}]
	if {$n ne {200 1 1}} {
	    set ok [list $tid $n]
	}
    }
    foreach tid $tids w $writers {
	thread::send $tid {$::g close; close $::r}
	close $w
	thread::release $tid
	thread::join $tid
    }
    set ok
} -result 1

test tsan-1.2 {threads ending while their poll threads are blocked, twenty times} -constraints {
    thread
} -body {
    set done 0
    for {set i 0} {$i < 20} {incr i} {
	set tid [thread::create -joinable [format {
	    set auto_path %s
	    package require tkuv
	    tkuv::timer after 600000 {apply {args {}}}
	    lassign [chan pipe] r w
	    set g [tkuv::guest create -fd [string range $r 4 end] \
		    -command {apply {args {return -1}}}]
	    thread::wait
	} [list $auto_path]]]
	# Make sure both poll threads have started and are waiting.
	thread::send $tid {
	    after 2 {set ::x 1}
	    vwait ::x
	}
	thread::release $tid
	thread::join $tid
	incr done
    }
    set done
} -result 20

test tsan-1.3 {child interps created and deleted under live handles in two threads} -constraints {
    thread
} -body {
    set tids {}
    for {set t 0} {$t < 2} {incr t} {
	set tid [thread::create -joinable [format {
	    set auto_path %s
	    package require tkuv
	    thread::wait
	} [list $auto_path]]]
	lappend tids $tid
	thread::send -async $tid {
	    for {set i 0} {$i < 15} {incr i} {
		interp create c
		c eval [list set auto_path $auto_path]
		c eval {
		    package require tkuv
		    tkuv::timer every 1 {apply {args {incr ::n}}}
		    tkuv::timer after 0 {apply {args {}}}
		    lassign [chan pipe] r w
		    tkuv::guest create -fd [string range $r 4 end] \
			    -command {apply {args {return 0}}}
		}
		after 3 {set ::w 1}
		vwait ::w
		interp delete c
	    }
	    set ok ok
	} ::tsanResult($tid)
    }
    set res {}
    foreach tid $tids {
	if {![info exists ::tsanResult($tid)]} {
	    tkuvtest::wait ::tsanResult($tid) 30000
	}
	lappend res $::tsanResult($tid)
	thread::release $tid
	thread::join $tid
    }
    set res
} -result {ok ok}

test tsan-1.4 {threads send events to each other while running fast timers} -constraints {
    thread
} -body {
    set tids {}
    for {set i 0} {$i < 3} {incr i} {
	lappend tids [thread::create -joinable "$workerInit; thread::wait"]
    }
    # Each worker pings the next one from inside its own tkuv timer.
    foreach tid $tids next [concat [lrange $tids 1 end] [lindex $tids 0]] {
	thread::send $tid [list set ::next $next]
	thread::send $tid {set ::pings 0}
    }
    foreach tid $tids {
	thread::send $tid {
	    set ::pinger [tkuv::timer every 1 {apply {args {
		if {[incr ::sent] <= 100} {
		    thread::send -async $::next {incr ::pings}
		}
	    }}}]
	}
    }
    set res {}
    foreach tid $tids {
	lappend res [thread::send $tid {
	    set deadline [expr {[clock milliseconds] + 20000}]
	    while {$::pings < 100 && [clock milliseconds] < $deadline} {
		after 5 {set ::poke 1}
		vwait ::poke
	    }
	    set ::pings
	}]
    }
    foreach tid $tids {
	thread::release $tid
	thread::join $tid
    }
    set res
} -result {100 100 100}

test tsan-1.5 {exit from the main thread while three threads pump timers and guests} -constraints {
    thread
} -body {
    tkuvtest::runScript [format {
	package require Thread
	package require tkuv
	set workerInit %s
	tkuv::timer every 1 {apply {args {}}}
	set writers {}
	for {set i 0} {$i < 3} {incr i} {
	    set tid [thread::create "$workerInit; thread::wait"]
	    lassign [chan pipe] r w
	    fconfigure $w -buffering none -blocking 0
	    thread::transfer $tid $r
	    thread::send $tid [list startGuest $r]
	    lappend writers $w
	}
	tkuv::timer every 1 [list apply {{writers args} {
	    foreach w $writers {catch {puts -nonewline $w x}}
	}} $writers]
	after 200 {puts bye; exit 0}
	vwait forever
    } [list $workerInit]] 60000
} -result {0 bye}

test tsan-1.6 {a signal caught by handles in three threads} -constraints {
    thread unix
} -body {
    set tids {}
    for {set i 0} {$i < 3} {incr i} {
	set tid [thread::create -joinable "$workerInit; thread::wait"]
	thread::send $tid {
	    set ::got 0
	    set ::sig [tkuv::signal SIGUSR2 {apply {args {incr ::got}}}]
	}
	lappend tids $tid
    }
    set ok 1
    for {set round 1} {$round <= 5} {incr round} {
	exec kill -USR2 [pid]
	foreach tid $tids {
	    set got [thread::send $tid [format {
		set deadline [expr {[clock milliseconds] + 20000}]
		while {$::got < %d && [clock milliseconds] < $deadline} {
		    after 5 {set ::poke 1}
		    vwait ::poke
		}
		set ::got
	    } $round]]
	    if {$got < $round} {
		set ok [list round $round got $got]
	    }
	}
    }
    foreach tid $tids {
	thread::send $tid {$::sig close}
	thread::release $tid
	thread::join $tid
    }
    set ok
} -result 1

test tsan-1.7 {file and resolver requests from three threads at once} -constraints {
    thread
} -body {
    set dir [makeDirectory tsan-fs]
    set tids {}
    for {set i 0} {$i < 3} {incr i} {
	set tid [thread::create -joinable "$workerInit; thread::wait"]
	thread::send $tid [list set ::dir $dir]
	thread::send -async $tid {
	    set ::left 40
	    set ::bad {}
	    proc done {req event args} {
		if {$event eq "error"} {
		    lappend ::bad $args
		}
		incr ::left -1
	    }
	    for {set j 0} {$j < 10} {incr j} {
		set f [file join $::dir [thread::id]-$j]
		tkuv::fs write $f [string repeat x 1000] done
		tkuv::fs stat $::dir done
		tkuv::resolve 127.0.0.1 -port 80 done
		tkuv::resolve -reverse 127.0.0.1 done
	    }
	}
	lappend tids $tid
    }
    set res {}
    foreach tid $tids {
	lappend res [thread::send $tid {
	    set deadline [expr {[clock milliseconds] + 30000}]
	    while {$::left > 0 && [clock milliseconds] < $deadline} {
		after 5 {set ::poke 1}
		vwait ::poke
	    }
	    set ::left
	}]
    }
    foreach tid $tids {
	thread::release $tid
	thread::join $tid
    }
    removeDirectory tsan-fs
    set res
} -result {0 0 0}

tkuvtest::finish
