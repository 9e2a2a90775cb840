# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# client.tcl -- the Tcl benchmark client, for tclsh and wish alike.
#
#   client.tcl IMPL conns PORT C M MAXSEC   C connections to the echo port,
#                                           each M round trips of 64 bytes,
#                                           all connected before the clock
#                                           starts; stops early at MAXSEC
#   client.tcl IMPL bulk PORT BYTES         receive BYTES from the source port
#   client.tcl IMPL idle PORT               one idle connection, print READY,
#                                           then wait forever (the driver
#                                           measures and kills)
#
# IMPL: native (socket + fileevent, fcopy), tkuvtcp (tkuv::tcp),
# tkuvsocket (tkuv::socket, a Tcl channel), bare (idle only: nothing open).
# Prints one line: RESULT {"msgs": N, "secs": S, "cpu": C, ...}
# CPU is the whole process (all threads) from /proc/self/task/*/schedstat;
# vcs its voluntary context switches (all threads) from .../status.
#
# Environment: TKUV_NOTIFIER=epoll with IMPL native loads tkuv only for its
# notifier (Tcl's own sockets on the epoll notifier); TKUV_WAIT is read by
# tkuv itself.

lassign $argv impl workload port
set msg [string repeat x 64]
set msgs 0
set finished 0
set nconnected 0

if {[info commands tk] ne ""} {
    wm title . "tkuv bench: $impl $workload"
    pack [label .l -text "$impl $workload" -width 40]
    update
}
if {$impl in {tkuvtcp tkuvsocket}
        || ([info exists env(TKUV_NOTIFIER)] && $env(TKUV_NOTIFIER) ne "stock")} {
    package require tkuv
}

proc cpu {} {
    set total 0
    foreach f [glob -nocomplain /proc/self/task/*/schedstat] {
        if {![catch {open $f} ch]} {
            scan [read $ch] %lld ns
            close $ch
            set total [expr {$total + $ns}]
        }
    }
    return [expr {$total / 1e9}]
}

proc vcs {} {
    set total 0
    foreach f [glob -nocomplain /proc/self/task/*/status] {
        if {![catch {open $f} ch]} {
            regexp -line {^voluntary_ctxt_switches:\s*(\d+)} [read $ch] -> n
            close $ch
            incr total $n
        }
    }
    return $total
}

proc now {} {
    return [expr {[clock microseconds] / 1e6}]
}

proc result {args} {
    set parts {}
    foreach {k v} $args {
        lappend parts "\"$k\": $v"
    }
    puts "RESULT {[join $parts {, }]}"
    flush stdout
}

# open_conn -- a connected channel or tkuv::tcp handle, reading set up.
proc open_conn {port onData} {
    global impl
    switch -- $impl {
        native - tkuvsocket {
            set s [expr {$impl eq "native" ? [socket 127.0.0.1 $port]
                         : [tkuv::socket 127.0.0.1 $port]}]
            fconfigure $s -blocking 0 -translation binary -buffering none
            fileevent $s readable [list {*}$onData $s]
            return $s
        }
        tkuvtcp {
            # One procedure takes every event, as an application would write
            # it: conns_tcp / bulk_tcp.
            return [tkuv::tcp connect 127.0.0.1 $port -command \
                        [string map {_data _tcp} $onData]]
        }
    }
    error "unknown impl \"$impl\""
}

proc tcp_other {h ev args} {
    switch -- $ev {
        connected { incr ::nconnected }
        eof { puts stderr "unexpected eof on $h"; exit 1 }
        error { puts stderr "$h: $args"; exit 1 }
    }
}

proc send {c bytes} {
    if {$::impl eq "tkuvtcp"} {
        $c write $bytes
    } else {
        puts -nonewline $c $bytes
    }
}

# ---------------------------------------------------------------- conns

proc conns_data {c {bytes ""} {eof 0}} {
    global got left msgs deadline msg
    if {$::impl ne "tkuvtcp"} {
        set bytes [read $c]
        set eof [eof $c]
    }
    if {$eof} {
        puts stderr "unexpected eof on $c"
        exit 1
    }
    incr got($c) [string length $bytes]
    while {$got($c) >= 64} {
        incr got($c) -64
        incr msgs
        if {[incr left($c) -1] > 0 && [clock milliseconds] < $deadline} {
            send $c $msg
        } elseif {[incr ::finished] == $::nconns} {
            set ::done 1
        }
    }
}

proc run_conns {port n m maxsec} {
    global got left msgs conns nconns deadline msg
    set nconns $n
    set conns {}
    for {set i 0} {$i < $n} {incr i} {
        set c [open_conn $port conns_data]
        set got($c) 0
        set left($c) $m
        lappend conns $c
    }
    if {$::impl eq "tkuvtcp"} {
        # The clock starts once every connection is up.
        while {$::nconnected < $n} {
            vwait ::nconnected
        }
    }
    set cpu0 [cpu]
    set vcs0 [vcs]
    set t0 [now]
    set deadline [expr {[clock milliseconds] + int($maxsec * 1000)}]
    foreach c $conns {
        send $c $msg
    }
    vwait ::done
    set secs [expr {[now] - $t0}]
    set cpu [expr {[cpu] - $cpu0}]
    set vcs [expr {[vcs] - $vcs0}]
    result msgs $msgs secs $secs cpu $cpu conns $n vcs $vcs
}

proc conns_tcp {c ev {bytes ""}} {
    global got left msgs deadline msg
    if {$ev ne "data"} {
        if {$ev ne "drain"} {
            tcp_other $c $ev $bytes
        }
        return
    }
    incr got($c) [string length $bytes]
    while {$got($c) >= 64} {
        incr got($c) -64
        incr msgs
        if {[incr left($c) -1] > 0 && [clock milliseconds] < $deadline} {
            $c write $msg
        } elseif {[incr ::finished] == $::nconns} {
            set ::done 1
        }
    }
}

# ---------------------------------------------------------------- bulk

proc bulk_tcp {c ev {bytes ""}} {
    switch -- $ev {
        data { incr ::bulkGot [string length $bytes] }
        eof { set ::done 1 }
        connected - drain - closed {}
        default { tcp_other $c $ev $bytes }
    }
}

proc bulk_data {c {bytes ""} {eof 0}} {
    incr ::bulkGot [string length $bytes]
    if {$eof} {
        set ::done 1
    }
}

proc run_bulk {port bytes} {
    global impl
    set ::bulkGot 0
    set cpu0 [cpu]
    set vcs0 [vcs]
    set t0 [now]
    if {$impl eq "tkuvtcp"} {
        set c [open_conn $port bulk_data]
        $c write "$bytes\n"
        vwait ::done
        $c close
    } else {
        set c [expr {$impl eq "native" ? [socket 127.0.0.1 $port]
                     : [tkuv::socket 127.0.0.1 $port]}]
        set null [open /dev/null w]
        fconfigure $c -translation binary -buffersize 65536
        fconfigure $null -translation binary -buffersize 65536
        puts $c $bytes
        flush $c
        fcopy $c $null -command [list apply {{n args} {
            set ::bulkGot $n
            set ::done 1
        }}]
        vwait ::done
        close $c
        close $null
    }
    set secs [expr {[now] - $t0}]
    set cpu [expr {[cpu] - $cpu0}]
    set vcs [expr {[vcs] - $vcs0}]
    result bytes $::bulkGot secs $secs cpu $cpu vcs $vcs
    if {$::bulkGot != $bytes} {
        exit 1
    }
}

# ---------------------------------------------------------------- idle

proc run_idle {port} {
    if {$::impl ne "bare"} {
        set ::idleConn [open_conn $port conns_data]
    }
    # Let connects and Tk's first redraws settle before the driver measures.
    after 300 {set ::settled 1}
    vwait ::settled
    puts READY
    flush stdout
    vwait ::forever
}

switch -- $workload {
    conns { run_conns $port {*}[lrange $argv 3 end] }
    bulk { run_bulk $port [lindex $argv 3] }
    idle { run_idle $port }
    default { puts stderr "unknown workload \"$workload\""; exit 2 }
}
exit 0
